#!/usr/bin/env bash
# Make sure a Docker engine answers on /var/run/docker.sock: install Debian's docker.io if the
# engine is missing, start dockerd in the background if it is not running. Idempotent.
set -euo pipefail
LOG="${PRONOTE_DC_DOCKERD_LOG:-/var/log/pronote-dc-dockerd.log}"
SOCK=/var/run/docker.sock

if docker info >/dev/null 2>&1; then
    exit 0
fi
if ! command -v dockerd >/dev/null 2>&1; then
    echo "docker-engine: installing Debian's docker.io" >&2
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io >/dev/null
fi
# Only a dockerd of this host's PID namespace counts: the Swarm lab's Docker-in-Docker nodes
# run dockerd too (visible here as host processes), and must not hide a dead host engine.
if ! pgrep --ns $$ --nslist pid -x dockerd >/dev/null 2>&1; then
    echo "docker-engine: starting dockerd (log: $LOG)" >&2
    # Without the caller's other file descriptors: run under `flock LOCK make docker-images`,
    # dockerd (and containerd) would otherwise inherit the lock and hold it forever.
    (
        for fd in /proc/self/fd/*; do
            fd=${fd##*/}
            if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
        done
        exec nohup dockerd >>"$LOG" 2>&1 </dev/null
    ) &
fi
for _ in $(seq 1 120); do
    if [ -S "$SOCK" ] && docker info >/dev/null 2>&1; then
        exit 0
    fi
    sleep 0.5
done
echo "docker-engine: dockerd did not answer on $SOCK within 60 s; see $LOG" >&2
tail -n 20 "$LOG" >&2 || true
exit 1
