"""The Swarm's nodes: list them, bootstrap a host over SSH with fabric and join it, drain
and remove one. Used by `pronote-dc nodes` (datacenter/cli/nodes.py).

`add ssh://user@host[:port]` (fabric/paramiko; key from `key_filename`, else the user's agent
and ~/.ssh keys) checks root; when the host has no engine, installs Debian's docker.io (the
.deb files of `debs/<codename>-<arch>/` uploaded and installed with dpkg when the controller
has them, `make docker-images` downloads them; else apt-get from the host's own mirrors) and
starts it; loads the agent image (`docker save` on the manager's side, uploaded, `docker load`
on the host) when it is missing; joins the swarm as a worker and labels the node
`pronote-dc.node=<host>`. Each step that fails names the host and what to do; nothing joins
before the image is loaded, and a host that joined then failed to be labelled leaves the swarm
again (nothing half-added).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import docker
import paramiko
from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from fabric import Connection
from invoke.exceptions import UnexpectedExit

from provisioning import swarm_volumes
from provisioning.runtime import RuntimeFailure

NODE_LABEL = "pronote-dc.node"
IMAGE_UPLOAD_DIR = "/tmp"  # on the host, where `docker load` reads it; removed after
DEBS_UPLOAD_DIR = "/var/cache/pronote-dc-debs"


def default_debs_dir() -> Path:
    """Where `make docker-images` keeps docker.io's .deb files, one directory per
    `<codename>-<arch>` (PRONOTE_DC_ENGINE_DEBS overrides)."""
    if os.environ.get("PRONOTE_DC_ENGINE_DEBS"):
        return Path(os.environ["PRONOTE_DC_ENGINE_DEBS"])
    cache = os.environ.get("PRONOTE_DC_CACHE_DIR") or str(
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pronote-dc"
    )
    return Path(cache) / "debs"


class NodeFailure(RuntimeFailure):
    pass


@dataclass(frozen=True)
class NodeRow:
    id: str
    hostname: str
    address: str
    role: str
    state: str
    availability: str
    schools: int
    cpus: float
    memory_gib: float


def rows(client: docker.DockerClient, school_tasks: dict[str, int]) -> list[NodeRow]:
    """Every node of the swarm with its number of running school tasks."""
    found = []
    for node in client.api.nodes():
        spec, desc, status = node["Spec"], node.get("Description", {}), node.get("Status", {})
        resources = desc.get("Resources", {})
        found.append(
            NodeRow(
                id=node["ID"][:12],
                hostname=desc.get("Hostname", ""),
                address=status.get("Addr", ""),
                role=spec.get("Role", ""),
                state=status.get("State", ""),
                availability=spec.get("Availability", ""),
                schools=school_tasks.get(node["ID"], 0),
                cpus=resources.get("NanoCPUs", 0) / 1e9,
                memory_gib=round(resources.get("MemoryBytes", 0) / 2**30, 1),
            )
        )
    return sorted(found, key=lambda r: (r.role != "manager", r.hostname))


def find(client: docker.DockerClient, name: str) -> dict[str, Any]:
    """The node whose id (prefix), hostname or address is `name`."""
    for node in client.api.nodes():
        desc, status = node.get("Description", {}), node.get("Status", {})
        if name in {desc.get("Hostname"), status.get("Addr")} or node["ID"].startswith(name):
            return dict(node)
    raise NodeFailure(f"no node {name!r} in the swarm; list them with `pronote-dc nodes list`")


def set_availability(client: docker.DockerClient, name: str, availability: str) -> dict[str, Any]:
    node = find(client, name)
    spec = dict(node["Spec"])
    spec["Availability"] = availability
    client.api.update_node(node["ID"], node["Version"]["Index"], spec)
    return node


def remove(client: docker.DockerClient, name: str, force: bool) -> list[str]:
    """Remove the node from the swarm; returns the school volumes that were waiting for it to
    come back to be removed (their jobs are dropped: they stay on that host's disk only)."""
    node = find(client, name)
    if node["Spec"].get("Role") == "manager":
        raise NodeFailure(f"node {name} is the manager: the swarm cannot remove its manager")
    if node.get("Status", {}).get("State") != "down" and not force:
        raise NodeFailure(
            f"node {name} is still up: `pronote-dc nodes drain {name}` first (its schools move "
            "with their data), then remove it, or pass --force"
        )
    try:
        client.api.remove_node(node["ID"], force=True)
    except APIError as error:
        raise NodeFailure(f"cannot remove node {name}: {error.explanation}") from error
    return swarm_volumes.drop_pending(client, node["ID"])


def add(
    manager: docker.DockerClient,
    manager_address: str,
    url: str,
    image: str,
    key_filename: Path | None = None,
    connect_timeout: float = 10.0,
    debs: Path | None = None,
) -> str:
    """Bootstrap the host of `url` (ssh://user@host[:port]) and join it; returns its node id.
    `debs`: docker.io's packages by `<codename>-<arch>` (default `default_debs_dir()`)."""
    parts = urlsplit(url)
    if parts.scheme != "ssh" or not parts.hostname:
        raise NodeFailure(f"give the host as ssh://user@host[:port], not {url!r}")
    host = parts.hostname
    kwargs: dict[str, Any] = {"timeout": connect_timeout, "banner_timeout": connect_timeout}
    if key_filename is not None:
        kwargs["key_filename"] = str(key_filename)
    connection = Connection(
        host, user=parts.username or "root", port=parts.port or 22, connect_kwargs=kwargs
    )
    try:
        try:
            connection.open()
        except paramiko.AuthenticationException as error:
            raise NodeFailure(
                f"{host} refused the SSH login of {parts.username or 'root'} ({error}): "
                f"authorise your key there (~{parts.username or 'root'}/.ssh/authorized_keys) "
                "or give the right one with --key (nothing was changed)"
            ) from error
        except (TimeoutError, OSError, paramiko.SSHException) as error:
            raise NodeFailure(
                f"cannot reach {host} over SSH ({error}): check that sshd runs there, that "
                "the address is right and that your key is authorised (nothing was changed)"
            ) from error
        if (_run(connection, "id -u") or "").strip() != "0":
            if _run(connection, "sudo -n true", warn=True) is None:
                raise NodeFailure(
                    f"{parts.username}@{host} is not root and cannot sudo without a password: "
                    "connect as root or give that user password-less sudo (nothing was changed)"
                )
            raise NodeFailure(
                f"{parts.username}@{host} is not root: connect as root@{host} (nothing was changed)"
            )
        _ensure_engine(connection, host, debs or default_debs_dir())
        _ensure_image(connection, manager, host, image)
        return _join(connection, manager, manager_address, host)
    finally:
        connection.close()


def _run(
    connection: Connection, command: str, warn: bool = False, timeout: int = 300
) -> str | None:
    try:
        result = connection.run(command, hide=True, warn=warn, timeout=timeout)
    except UnexpectedExit as error:
        raise NodeFailure(
            f"`{command}` failed on {connection.host}: {error.result.stderr.strip()[-400:]}"
        ) from error
    if warn and result.failed:
        return None
    return str(result.stdout)


def _ensure_engine(connection: Connection, host: str, debs: Path) -> None:
    if _run(connection, "docker info --format '{{.ServerVersion}}'", warn=True):
        return
    if _run(connection, "command -v dockerd", warn=True) is None:
        _install_engine(connection, host, debs)
    if _run(connection, "docker info >/dev/null 2>&1", warn=True) is not None:
        return  # the package started it (a systemd host)
    if _run(connection, "test -d /run/systemd/system", warn=True) is not None:
        _run(connection, "systemctl enable --now docker", warn=True)
    else:  # no init system to ask: start it detached from this SSH session
        _run(connection, "setsid nohup dockerd >>/var/log/dockerd.log 2>&1 </dev/null &")
    if (
        _run(
            connection,
            "for i in $(seq 1 120); do docker info >/dev/null 2>&1 && exit 0; sleep 0.5; done; "
            "exit 1",
            warn=True,
        )
        is None
    ):
        log = _run(connection, "tail -n 5 /var/log/dockerd.log", warn=True) or ""
        raise NodeFailure(
            f"the Docker engine of {host} did not start within 60 s ({log.strip()[-400:]}): "
            "check its log there (`journalctl -u docker` or /var/log/dockerd.log); nothing "
            "joined the swarm"
        )


def _install_engine(connection: Connection, host: str, debs: Path) -> None:
    """Debian's docker.io: the controller's .deb files for the host's release, uploaded and
    installed with dpkg (no mirror needed there), else apt-get from the host's mirrors."""
    release = _run(
        connection,
        '. /etc/os-release && echo "$VERSION_CODENAME-$(dpkg --print-architecture)"',
        warn=True,
    )
    release = (release or "").strip()
    packages = sorted((debs / release).glob("*.deb")) if release else []
    if not packages:
        try:
            _run(
                connection,
                "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "
                "docker.io",
                timeout=900,
            )
        except NodeFailure as error:
            raise NodeFailure(
                f"{host} has no Docker engine and installing Debian's docker.io from its own "
                f"mirrors failed ({error}); give the controller the packages for "
                f"{release or 'its release'} in {debs / (release or '<codename>-<arch>')} "
                "(`make docker-images` downloads them for bookworm), or install docker.io "
                "there (nothing joined the swarm)"
            ) from None
        return
    remote = DEBS_UPLOAD_DIR
    try:
        _run(connection, f"rm -rf {remote} && mkdir -p {remote}")
        for package in packages:
            connection.put(str(package), f"{remote}/{package.name}")
        _run(connection, f"DEBIAN_FRONTEND=noninteractive dpkg -i {remote}/*.deb", timeout=600)
    except (NodeFailure, OSError) as error:
        raise NodeFailure(
            f"installing the Docker engine on {host} ({len(packages)} packages of {debs / release}"
            f" with dpkg) failed: {error}; check its disk space and `dpkg --audit` there, then "
            "run `pronote-dc nodes add` again (nothing joined the swarm)"
        ) from None
    finally:
        _run(connection, f"rm -rf {remote}", warn=True)


def _ensure_image(
    connection: Connection, manager: docker.DockerClient, host: str, image: str
) -> None:
    if (
        _run(connection, f"docker image inspect {shlex.quote(image)} >/dev/null", warn=True)
        is not None
    ):
        return
    try:
        chunks = manager.images.get(image).save(named=image)
    except (ImageNotFound, DockerException) as error:
        raise NodeFailure(
            f"the agent image {image} is not on the manager, so it cannot be loaded on {host}: "
            "load it on the manager first (`pronote-dc lab up` does)"
        ) from error
    remote = f"{IMAGE_UPLOAD_DIR}/pronote-dc-agent-{os.getpid()}.tar"
    with tempfile.NamedTemporaryFile(suffix=".tar") as tarball:
        for chunk in chunks:
            tarball.write(chunk)
        tarball.flush()
        size = Path(tarball.name).stat().st_size
        try:
            free = _run(connection, f"df -Pk {IMAGE_UPLOAD_DIR} | awk 'NR==2 {{print $4}}'")
            if free is not None and free.strip().isdigit() and int(free) * 1024 < size:
                raise NodeFailure(
                    f"{IMAGE_UPLOAD_DIR} has {int(free) // 1024} MiB free and the image is "
                    f"{size // 2**20} MiB"
                )
            connection.put(tarball.name, remote)
            _run(connection, f"docker load -i {remote}")
        except (NodeFailure, OSError) as error:
            raise NodeFailure(
                f"the agent image {image} could not be loaded on {host} ({error}); "
                f"free disk space there ({IMAGE_UPLOAD_DIR} and /var/lib/docker) and check its "
                "engine log, then run `pronote-dc nodes add` again (nothing joined the swarm)"
            ) from None
        finally:
            _run(connection, f"rm -f {remote}", warn=True)


def _join(
    connection: Connection, manager: docker.DockerClient, manager_address: str, host: str
) -> str:
    state = (
        _run(connection, "docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.NodeID}}'") or ""
    )
    local_state, _, node_id = state.strip().partition(" ")
    if local_state != "active":
        token = manager.swarm.attrs["JoinTokens"]["Worker"]
        _run(
            connection,
            f"docker swarm join --token {shlex.quote(token)} --advertise-addr {shlex.quote(host)} "
            f"{shlex.quote(manager_address)}:2377",
            timeout=120,
        )
        node_id = (_run(connection, "docker info --format '{{.Swarm.NodeID}}'") or "").strip()
    try:
        node = manager.api.inspect_node(node_id)
        spec = dict(node["Spec"])
        spec["Labels"] = {**spec.get("Labels", {}), NODE_LABEL: host}
        manager.api.update_node(node_id, node["Version"]["Index"], spec)
    except (APIError, NotFound) as error:
        with contextlib.suppress(NodeFailure):
            _run(connection, "docker swarm leave --force", warn=True)
        raise NodeFailure(
            f"{host} joined but could not be labelled ({error}); it left again"
        ) from error
    return node_id
