"""A Swarm lab on one machine: N Docker-in-Docker nodes on a bridge of the local engine, each
with sshd (so `pronote-dc nodes add ssh://root@<node>` really goes over SSH) and an engine
listening on the lab bridge only (tcp://<node>:2375, the `swarm://` runtime's manager URL).

Everything carries the label `pronote-dc.lab=<id>`: `down` removes the node containers, their
`/var/lib/docker` volumes and the bridge by that label, and nothing else on the engine.

The DinD flags are the ones verified on this kind of host (issue 17): `--privileged` fails
("unable to apply caps": the bounding set lacks CAP_SYS_RESOURCE), so every capability but
SYS_RESOURCE, no seccomp/apparmor/systempaths confinement, the host's cgroup tree and a tmpfs
/run. Node image: images/swarm-node/ (FROM the project's offline base + Debian's docker.io).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import docker
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from docker.errors import APIError, DockerException, ImageNotFound, NotFound

from provisioning.runtime import RuntimeFailure

NODE_IMAGE = "pronote-dc/swarm-node:latest"
HOST_IMAGE = "pronote-dc/swarm-host:latest"  # a bare host: sshd, no engine (`lab add-host`)
LAB_LABEL = "pronote-dc.lab"
DEFAULT_SUBNET = "172.29.88.0/24"
ENGINE_PORT = 2375
FIRST_HOST = 10  # node i is at the subnet's address 10 + i


class LabFailure(RuntimeFailure):
    pass


@dataclass(frozen=True)
class LabNode:
    name: str
    address: str
    state: str


def _engine() -> docker.DockerClient:
    try:
        client = docker.from_env(timeout=120)
        client.ping()
        return client
    except DockerException as error:
        raise LabFailure(
            f"the lab runs on the local Docker engine, which does not answer ({error}): "
            "run `make docker-images` (installs and starts it)"
        ) from error


def key_path(lab_dir: Path) -> Path:
    return lab_dir / "id_ed25519"


def ensure_key(lab_dir: Path) -> str:
    """The lab's SSH key (private key file in `lab_dir`, mode 0600); returns the public line."""
    path = key_path(lab_dir)
    lab_dir.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        os.replace(path.with_suffix(".tmp"), path)
    loaded = serialization.load_ssh_private_key(path.read_bytes(), password=None)
    public = loaded.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return public.decode() + " pronote-dc-lab"


def network_name(lab: str) -> str:
    return f"pdc-lab-{lab}"


def node_name(lab: str, index: int) -> str:
    return f"pdc-lab-{lab}-node{index}"


def build_node_image(base_image: str = "pronote-dc/base:bookworm", image: str = NODE_IMAGE) -> None:
    """Build images/swarm-node/ (apt from the base image's Debian mirror; no registry);
    `make docker-images` builds it too, with the bare host's image and its engine packages."""
    context = Path(__file__).resolve().parent.parent / "images" / "swarm-node"
    dockerfile = context / ("Dockerfile.host" if image == HOST_IMAGE else "Dockerfile")
    result = subprocess.run(
        [
            "docker",
            "build",
            "-q",
            "-f",
            str(dockerfile),
            "-t",
            image,
            "--build-arg",
            f"BASE_IMAGE={base_image}",
            str(context),
        ],
        env={**os.environ, "DOCKER_BUILDKIT": "0"},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise LabFailure(
            f"cannot build the lab's image {image}: {result.stderr.strip()[-800:]}; "
            "run `make docker-images` first (it builds the base image)"
        )


def up(
    lab: str, nodes: int, subnet: str, lab_dir: Path, engine_on: set[int] | None = None
) -> list[LabNode]:
    """Start `nodes` DinD nodes on a new bridge `subnet`; node i answers SSH and (when in
    `engine_on`, default all) its engine at 10+i of the subnet. All or nothing: on any
    failure what was created is removed. Raises LabFailure."""
    if not 1 <= nodes <= 16:
        raise LabFailure(f"a lab has 1 to 16 nodes, not {nodes}")
    try:
        network = ipaddress.ip_network(subnet)
    except ValueError as error:
        raise LabFailure(f"lab subnet {subnet!r} is not a network ({error})") from None
    if network.num_addresses < FIRST_HOST + nodes + 2:
        raise LabFailure(
            f"lab subnet {subnet} is too small for {nodes} nodes: give a /28 or larger"
        )
    client = _engine()
    try:
        client.images.get(NODE_IMAGE)
    except ImageNotFound:
        build_node_image()
    if client.networks.list(filters={"label": f"{LAB_LABEL}={lab}"}):
        raise LabFailure(f"lab {lab!r} already runs: `pronote-dc lab down --lab {lab}` first")
    for other in client.api.networks():
        for config in (other.get("IPAM") or {}).get("Config") or []:
            with contextlib.suppress(ValueError):
                if network.overlaps(ipaddress.ip_network(config.get("Subnet", ""))):
                    raise LabFailure(
                        f"lab subnet {subnet} clashes with the Docker network "
                        f"{other['Name']!r} ({config['Subnet']}): pass another --subnet"
                    )
    public_key = ensure_key(lab_dir)
    labels = {LAB_LABEL: lab}
    try:
        ipam = docker.types.IPAMConfig(
            pool_configs=[docker.types.IPAMPool(subnet=subnet, gateway=str(network[1]))]
        )
        client.networks.create(network_name(lab), driver="bridge", ipam=ipam, labels=labels)
        started = []
        for index in range(nodes):
            address = str(network[FIRST_HOST + index])
            started.append(
                _start_node(
                    client, lab, index, address, public_key, engine_on is None or index in engine_on
                )
            )
        for node, with_engine in started:
            if with_engine:
                wait_engine(node.address, 90)
        return [node for node, _ in started]
    except BaseException:
        down(lab)
        raise


def add_host(lab: str, lab_dir: Path) -> LabNode:
    """One more host on the lab's bridge, from the bare host image: sshd with the lab's key and
    no Docker engine, not in the swarm: `pronote-dc nodes add ssh://root@<address>` installs the
    engine there, loads the agent image and joins it. Raises LabFailure."""
    client = _engine()
    try:
        client.images.get(HOST_IMAGE)
    except ImageNotFound:
        build_node_image(image=HOST_IMAGE)
    networks = client.api.networks(filters={"label": f"{LAB_LABEL}={lab}"})
    if not networks:
        raise LabFailure(f"lab {lab!r} does not run: `pronote-dc lab up --lab {lab}` first")
    subnet = ipaddress.ip_network(networks[0]["IPAM"]["Config"][0]["Subnet"])
    taken = {
        int(c["Labels"].get(f"{LAB_LABEL}.node", "0"))
        for c in client.api.containers(all=True, filters={"label": f"{LAB_LABEL}={lab}"})
    }
    index = max(taken, default=-1) + 1
    if FIRST_HOST + index + 2 > subnet.num_addresses:
        raise LabFailure(f"lab {lab!r} has no address left on {subnet}")
    node, _ = _start_node(
        client, lab, index, str(subnet[FIRST_HOST + index]), ensure_key(lab_dir), False, HOST_IMAGE
    )
    return node


def _start_node(
    client: docker.DockerClient,
    lab: str,
    index: int,
    address: str,
    public_key: str,
    engine: bool,
    image: str = NODE_IMAGE,
) -> tuple[LabNode, bool]:
    name = node_name(lab, index)
    volume = client.volumes.create(f"{name}-docker", labels={LAB_LABEL: lab})
    api = client.api
    host_config = api.create_host_config(
        cap_add=["ALL"],
        cap_drop=["SYS_RESOURCE"],
        security_opt=["seccomp=unconfined", "apparmor=unconfined"],
        binds={
            "/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "rw"},
            volume.name: {"bind": "/var/lib/docker", "mode": "rw"},
        },
        tmpfs={"/run": ""},
    )
    # `--security-opt systempaths=unconfined` of the CLI: no masked nor read-only /proc paths.
    host_config["MaskedPaths"] = []
    host_config["ReadonlyPaths"] = []
    networking = api.create_networking_config(
        {network_name(lab): api.create_endpoint_config(ipv4_address=address)}
    )
    created = api.create_container(
        image,
        name=name,
        hostname=f"node{index}",
        labels={LAB_LABEL: lab, f"{LAB_LABEL}.node": str(index)},
        environment={
            "AUTHORIZED_KEY": public_key,
            "NO_ENGINE": "0" if engine else "1",
            "DOCKERD_ARGS": f"--host tcp://{address}:{ENGINE_PORT} --tls=false",
        },
        host_config=host_config,
        networking_config=networking,
        detach=True,
    )
    api.start(created["Id"])
    return LabNode(name, address, "running"), engine


def wait_engine(address: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            node = docker.DockerClient(base_url=f"tcp://{address}:{ENGINE_PORT}", timeout=5)
            node.ping()
            node.close()
            return
        except (DockerException, OSError) as error:
            last = error
            time.sleep(0.5)
    raise LabFailure(
        f"the engine of lab node {address} did not answer within {timeout:.0f} s ({last})"
    )


def listing(lab: str) -> list[LabNode]:
    client = _engine()
    found = client.api.containers(all=True, filters={"label": f"{LAB_LABEL}={lab}"})
    nodes = []
    for container in found:
        networks = container.get("NetworkSettings", {}).get("Networks", {})
        address = (networks.get(network_name(lab)) or {}).get("IPAddress", "")
        nodes.append(LabNode(container["Names"][0].lstrip("/"), address, container["State"]))
    return sorted(nodes, key=lambda n: n.name)


def stop_node(lab: str, index: int) -> None:
    """Stop one node's container (a hypervisor lost): its engine and tasks go with it."""
    client = _engine()
    try:
        client.api.stop(node_name(lab, index), timeout=1)
    except NotFound:
        raise LabFailure(f"lab {lab!r} has no node {index}") from None


def start_node(lab: str, index: int) -> None:
    """Start a stopped node's container again (the hypervisor back): its engine rejoins the
    swarm with the state kept in its /var/lib/docker volume."""
    client = _engine()
    try:
        client.api.start(node_name(lab, index))
    except NotFound:
        raise LabFailure(f"lab {lab!r} has no node {index}") from None


def down(lab: str) -> int:
    """Remove the lab's containers, volumes and bridge (by label); returns how many items."""
    client = _engine()
    removed = 0
    addresses = {node.address for node in listing(lab) if node.address}
    removed += _remove_routes_via(addresses)  # the swarm runtime's routes to its overlays
    for container in client.api.containers(all=True, filters={"label": f"{LAB_LABEL}={lab}"}):
        with contextlib.suppress(NotFound):
            client.api.remove_container(container["Id"], force=True, v=True)
            removed += 1
    for volume in client.api.volumes(filters={"label": f"{LAB_LABEL}={lab}"}).get("Volumes") or []:
        with contextlib.suppress(NotFound):
            client.api.remove_volume(volume["Name"], force=True)
            removed += 1
    for network in client.api.networks(filters={"label": f"{LAB_LABEL}={lab}"}):
        try:
            client.api.remove_network(network["Id"])
            removed += 1
        except NotFound:
            pass
        except APIError as error:
            raise LabFailure(
                f"cannot remove the lab bridge {network['Name']}: {error.explanation}"
            ) from error
    return removed


def form_swarm(
    nodes: list[LabNode],
    lab_dir: Path,
    agent_image: str,
    on_step: Callable[[str], None] = lambda _: None,
) -> str:
    """Node 0 becomes the manager (images loaded from the local engine, `swarm init`); every
    other node joins over SSH with fabric, as `pronote-dc nodes add` does. Returns the
    runtime URL (swarm://<node0>:2375)."""
    from provisioning import swarm_nodes

    local = _engine()
    manager_address = nodes[0].address
    manager = docker.DockerClient(base_url=f"tcp://{manager_address}:{ENGINE_PORT}", timeout=300)
    try:
        for image in (agent_image, NODE_IMAGE):
            on_step(f"loading {image} on {nodes[0].name}")
            try:
                manager.images.load(local.images.get(image).save(named=image))
            except ImageNotFound:
                raise LabFailure(
                    f"the image {image} is missing on the local engine: `make docker-images`"
                ) from None
        on_step(f"swarm init on {nodes[0].name}")
        if (manager.info().get("Swarm") or {}).get("LocalNodeState") != "active":
            manager.swarm.init(advertise_addr=manager_address, listen_addr="0.0.0.0:2377")
        for node in nodes[1:]:
            on_step(f"nodes add ssh://root@{node.address}")
            swarm_nodes.add(
                manager,
                manager_address,
                f"ssh://root@{node.address}",
                agent_image,
                key_filename=key_path(lab_dir),
            )
    finally:
        manager.close()
    return f"swarm://{manager_address}:{ENGINE_PORT}"


def _remove_routes_via(addresses: set[str]) -> int:
    """Delete this host's routes whose gateway is one of `addresses`; returns how many."""
    if not addresses:
        return 0
    shown = subprocess.run(["ip", "route"], capture_output=True, text=True, check=False)
    removed = 0
    for line in shown.stdout.splitlines():
        words = line.split()
        if "via" in words and words[words.index("via") + 1] in addresses:
            subprocess.run(["ip", "route", "del", words[0]], capture_output=True, check=False)
            removed += 1
    return removed
