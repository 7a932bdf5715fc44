#!/usr/bin/env bash
# Build the images the Docker runtime needs, offline:
#   pronote-dc/base:bookworm  debootstrap of Debian bookworm (minbase + python3), `docker import`ed;
#                             only when no base image is present (the tarball is cached).
#   pronote-dc/agent:latest   images/Dockerfile FROM that base, installing pronote-dc from wheels
#                             built on this host; rebuilt only when the sources change.
#   pronote-dc/swarm-node:latest, pronote-dc/swarm-host:latest  the Swarm lab's node (engine +
#                             sshd) and bare host (sshd, no engine), FROM that base with Debian's
#                             packages (images/swarm-node/); rebuilt when that directory changes.
#   $CACHE/debs/<codename>-<arch>/*.deb  Debian's docker.io and what it needs on a bare host:
#                             `pronote-dc nodes add` uploads them to a host that has no engine.
# Where a registry is reachable, `docker build -f images/Dockerfile .` alone is enough
# (its default base is python:3.11-slim).
set -euo pipefail
cd "$(dirname "$0")/.."
BASE_IMAGE="${PRONOTE_DC_BASE_IMAGE:-pronote-dc/base:bookworm}"
AGENT_IMAGE="${PRONOTE_DC_AGENT_IMAGE:-pronote-dc/agent:latest}"
CACHE="${PRONOTE_DC_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pronote-dc}"
PYTHON="${PYTHON:-python3}"
mkdir -p "$CACHE"

mirror() {  # the Debian mirror this machine's apt already uses
    local uri
    uri=$(grep -hoE '^(URIs:|deb) +https?://[^ ]+' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null \
        | awk '{print $2}' | grep -m1 -E '/debian/?$' || true)
    echo "${uri:-http://deb.debian.org/debian}"
}

if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1 && [[ "$BASE_IMAGE" != pronote-dc/* ]]; then
    docker pull "$BASE_IMAGE"  # an official image, for machines that reach a registry
elif ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    tarball="$CACHE/base-bookworm.tar"
    if [ ! -s "$tarball" ]; then
        command -v debootstrap >/dev/null || {
            apt-get update -q >/dev/null
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null
        }
        root=$(mktemp -d)
        echo "docker-images: debootstrap bookworm from $(mirror) (once; cached in $tarball)" >&2
        debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
            bookworm "$root" "$(mirror)" >"$CACHE/debootstrap.log" 2>&1 \
            || { tail -n 20 "$CACHE/debootstrap.log" >&2; rm -rf "$root"; exit 1; }
        rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
        tar -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
        rm -rf "$root"
    fi
    echo "docker-images: importing $BASE_IMAGE" >&2
    docker import "$tarball" "$BASE_IMAGE" >/dev/null
fi

# The agent image carries a hash of what goes into it: rebuild only when that changes.
hash=$( { git ls-files -z --cached --others --exclude-standard -- pyproject.toml images common vm_agent protos provisioning datacenter monitoring pronote_dc_testing \
            | xargs -0 sha256sum; echo "$BASE_IMAGE"; } | sha256sum | cut -c1-16)
current=$(docker image inspect -f '{{ index .Config.Labels "pronote-dc.source-hash" }}' "$AGENT_IMAGE" 2>/dev/null || true)
if [ "$current" != "$hash" ]; then
    echo "docker-images: building $AGENT_IMAGE (sources $hash)" >&2
    rm -rf dist/wheels
    "$PYTHON" -m pip wheel --quiet . -w dist/wheels >"$CACHE/wheels.log" 2>&1 \
        || { tail -n 20 "$CACHE/wheels.log" >&2; exit 1; }
    rm -rf build
    DOCKER_BUILDKIT=0 docker build --quiet -t "$AGENT_IMAGE" -f images/Dockerfile --build-arg "BASE_IMAGE=$BASE_IMAGE" \
        --label "pronote-dc.source-hash=$hash" . >/dev/null
    docker image prune -f --filter "label=pronote-dc.role=agent" >/dev/null  # the previous build
fi
echo "docker-images: $AGENT_IMAGE up to date (sources $hash)" >&2

# The Swarm lab's node and bare host images.
lab_hash=$( { git ls-files -z --cached --others --exclude-standard -- images/swarm-node | xargs -0 sha256sum; echo "$BASE_IMAGE"; } \
    | sha256sum | cut -c1-16)
for kind in node host; do
    image="pronote-dc/swarm-$kind:latest"
    dockerfile=images/swarm-node/Dockerfile; [ "$kind" = host ] && dockerfile=images/swarm-node/Dockerfile.host
    current=$(docker image inspect -f '{{ index .Config.Labels "pronote-dc.source-hash" }}' "$image" 2>/dev/null || true)
    if [ "$current" != "$lab_hash" ]; then
        echo "docker-images: building $image (apt from the base image's mirror)" >&2
        DOCKER_BUILDKIT=0 docker build --quiet -t "$image" -f "$dockerfile" --build-arg "BASE_IMAGE=$BASE_IMAGE" \
            --label "pronote-dc.source-hash=$lab_hash" images/swarm-node >/dev/null
        docker image prune -f --filter "label=pronote-dc.role=swarm-$kind" >/dev/null  # the previous build
    fi
done

# docker.io's packages for the bare host: exactly what it lacks, resolved inside that image.
HOST_IMAGE=pronote-dc/swarm-host:latest
release=$(docker run --rm --entrypoint sh "$HOST_IMAGE" -c '. /etc/os-release; echo "$VERSION_CODENAME-$(dpkg --print-architecture)"')
debs="$CACHE/debs/$release"
if ! ls "$debs"/docker.io_*.deb >/dev/null 2>&1; then
    echo "docker-images: downloading docker.io's packages for $release into $debs" >&2
    rm -rf "$debs.tmp" && mkdir -p "$debs.tmp/partial"
    docker run --rm --entrypoint sh -v "$debs.tmp:/out" "$HOST_IMAGE" -c \
        'apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
         --download-only --no-install-recommends -o Dir::Cache::archives=/out docker.io >/dev/null'
    rm -rf "$debs.tmp/partial" "$debs.tmp/lock" && rm -rf "$debs" && mv "$debs.tmp" "$debs"
fi
echo "docker-images: lab images up to date, $(ls "$debs" | wc -l) engine packages in $debs" >&2
