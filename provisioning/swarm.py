"""The Swarm runtime: one Swarm service per school, spread over the swarm's nodes.

`swarm://HOST:PORT` is the manager's engine API (the lab's managers listen on tcp://<node>:2375
of the lab bridge; `?image=NAME` picks the agent image, which must be loaded on every node:
`pronote-dc nodes add` does). The controller's address pool *is* the subnet of an attachable
overlay network `pdc-overlay-<subnet>`; Swarm assigns each task its address from the pool's
upper half (`prepare` reserves it, so the controller's own leases never collide) and the fleet
follows the task's address (`observe`) when Swarm moves the school. Each school also answers
at `<uai>.index-education.net` on the overlay (a network alias), as the real service answers at
`<RNE>.index-education.net`.

This kernel has no IPVS (issue 17, "verified on these machines"): no service VIP, no ingress
routing mesh, so services use `endpoint_mode=dnsrr` and are reached at their task's overlay
address. The host reaches the overlay through a gateway on the manager: a container attached
to the overlay that forwards and masquerades (`pdc-gateway-<subnet>`), a route on the manager
to it, and a host route `<pool> via <manager>` (root needed; `prepare` says so otherwise).

A school's data lives on its node (volume `pdc-<instance>-<uai>` mounted at /school, holding
data/ and backups/). It does not follow the school when Swarm moves it: the controller copies
every backup off the node as it is made and restores the latest sauvegarde when the school comes
back elsewhere (datacenter/adapters/backup_copies.py).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import ipaddress
import json
import logging
import os
import socket
import subprocess
import threading
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import docker
from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.types import (
    ContainerSpec,
    EndpointSpec,
    Healthcheck,
    Mount,
    NetworkAttachmentConfig,
    Resources,
    RestartPolicy,
    ServiceMode,
    TaskTemplate,
)

from provisioning import swarm_volumes
from provisioning.runtime import Observed, OnStop, RuntimeFailure, SchoolSpec, StartFailed
from provisioning.snapshot import SharedSnapshot

log = logging.getLogger(__name__)

DEFAULT_IMAGE = "pronote-dc/agent:latest"
GATEWAY_IMAGE = "pronote-dc/swarm-node:latest"
LABEL = "pronote-dc"
DNS_SUFFIX = "index-education.net"
MEMORY_LIMIT = 384 * 2**20
MEMORY_RESERVATION = 48 * 2**20
SNAPSHOT_SECONDS = 0.5
FAILED_STATES = {"failed", "rejected"}
STOP_WAIT_SECONDS = 15.0  # the task's stop grace period (5 s) and a margin
OVERLAY = "pdc-overlay-"
ENGINE_HELP = (
    "check the manager's address (`pronote-dc lab up` prints it), that its engine listens "
    "there, and that the node is a swarm manager"
)
# The task's config: the controller's, at the task's own overlay address (its hostname's, in
# /etc/hosts), which Swarm chose; the school listens and advertises its URLs there.
AGENT_COMMAND = (
    "mkdir -p /school/data /school/backups && python -c 'import json, os, socket; "
    'config = json.loads(os.environ["PRONOTE_DC_AGENT_JSON"]); '
    'config["address"] = socket.gethostbyname(socket.gethostname()); '
    'open("/school/agent.json", "w").write(json.dumps(config))'
    "' && exec python -m vm_agent --config /school/agent.json"
)


class ManagerUnreachable(RuntimeFailure):
    pass


class PoolRefused(RuntimeFailure):
    pass


class NodeLost(StartFailed):
    """The node a new school's task was placed on went down before the school served."""


def _labels(**values: str) -> dict[str, str]:
    return {f"{LABEL}.{key}": value for key, value in values.items()}


def _dashed(network: ipaddress.IPv4Network) -> str:
    """10.88.0.0/22 -> 10-88-0-0-22 (Swarm names must be DNS name components)."""
    return f"{network.network_address}-{network.prefixlen}".replace(".", "-")


def overlay_of(pool: str) -> tuple[ipaddress.IPv4Network, ipaddress.IPv4Network]:
    """The overlay subnet (the pool) and the range Swarm assigns task addresses from (its upper
    half). Raises PoolRefused for a pool that is not a private IPv4 /24 or larger."""
    try:
        network = ipaddress.ip_network(pool, strict=True)
    except ValueError as error:
        raise PoolRefused(f"address pool {pool!r} is not a network ({error})") from None
    if (
        not isinstance(network, ipaddress.IPv4Network)
        or not network.is_private
        or network.is_loopback
        or network.prefixlen > 24
    ):
        raise PoolRefused(
            f"the swarm runtime's address pool is its overlay network's subnet, so it must be a "
            f"private IPv4 /24 or larger, not {pool}: e.g. PRONOTE_DC_ADDRESS_POOL=10.88.0.0/20"
        )
    upper = list(network.subnets(prefixlen_diff=1))[1]
    return network, upper


class SwarmRuntime:
    start_waits_for_ready = False  # start waits for the port; the fleet checks gRPC health
    moves_schools = True
    populates_before_start = False  # a demo school is populated once started
    merges_pages = False  # other machines' kernels
    """Schools may come back on another node, without their data (restore from backups)."""

    def __init__(self, url: str) -> None:
        self.url = url
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        self.image = query.get("image", [DEFAULT_IMAGE])[0]
        self.host_route = query.get("route", ["1"])[0] != "0"
        if not parts.hostname:
            raise ManagerUnreachable(
                f"runtime {url!r} names no manager: use swarm://HOST:PORT (the manager's engine "
                "API, e.g. swarm://172.29.88.10:2375 for `pronote-dc lab up`'s first node)"
            )
        self.manager_address = parts.hostname
        self._base_url = f"tcp://{parts.hostname}:{parts.port or 2375}"
        self._client: docker.DockerClient | None = None
        self._overlay: ipaddress.IPv4Network | None = None
        # service name -> its running task, as listed (what `observe` answers from)
        self._snapshot: SharedSnapshot[dict[str, Observed]] = SharedSnapshot(
            self._list_tasks, {}, SNAPSHOT_SECONDS
        )
        self._nodes: dict[str, str] = {}
        self._node_states: dict[str, str] = {}
        self._node_states_at = 0.0
        self._placed: dict[str, str] = {}  # service name -> node id of its running task
        self._swept_at = 0.0
        self._states_lock = threading.Lock()
        # Volume clean-ups seen by observe run here, never on the caller's (event loop) thread.
        self._cleaner = concurrent.futures.ThreadPoolExecutor(1, "swarm-volumes")

    # -- manager ---------------------------------------------------------------------------

    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:
            try:
                client = docker.DockerClient(base_url=self._base_url, timeout=30, max_pool_size=32)
                info = client.info()
            except (DockerException, OSError) as error:
                raise ManagerUnreachable(
                    f"cannot reach the swarm manager of runtime {self.url} ({self._base_url}): "
                    f"{error}. {ENGINE_HELP}"
                ) from error
            swarm = info.get("Swarm") or {}
            if swarm.get("LocalNodeState") != "active" or not swarm.get("ControlAvailable"):
                client.close()
                raise ManagerUnreachable(
                    f"the engine at {self._base_url} is not a swarm manager (swarm state "
                    f"{swarm.get('LocalNodeState')!r}): run `docker swarm init` there, or point "
                    "the runtime at a manager"
                )
            self._client = client
        return self._client

    @property
    def network_name(self) -> str:
        assert self._overlay is not None
        return OVERLAY + _dashed(self._overlay)

    async def prepare(self, pool: str) -> frozenset[str]:
        network, upper = overlay_of(pool)
        await asyncio.to_thread(self._prepare, network, upper)
        reserved = {str(network.network_address), str(network.network_address + 1)}
        reserved |= {str(a) for a in upper}
        return frozenset(reserved)

    def _prepare(self, network: ipaddress.IPv4Network, upper: ipaddress.IPv4Network) -> None:
        try:
            self.client.images.get(self.image)
        except ImageNotFound:
            raise RuntimeFailure(
                f"the agent image {self.image} is missing on the manager {self.manager_address}: "
                "load it (`docker save pronote-dc/agent:latest | docker -H "
                f"{self._base_url} load`; `pronote-dc lab up` does) or pass ?image=NAME"
            ) from None
        self._overlay = network
        name = self.network_name
        for other in self.client.api.networks():
            for config in (other.get("IPAM") or {}).get("Config") or []:
                with contextlib.suppress(ValueError):
                    subnet = ipaddress.ip_network(config.get("Subnet", ""))
                    if network.overlaps(subnet) and not (
                        other["Name"] == name and subnet == network
                    ):
                        raise PoolRefused(
                            f"the address pool {network} clashes with the network "
                            f"{other['Name']!r} ({subnet}) on the manager {self.manager_address}: "
                            "choose another PRONOTE_DC_ADDRESS_POOL"
                        )
        try:
            self.client.networks.get(name)
        except NotFound:
            ipam = docker.types.IPAMConfig(
                pool_configs=[
                    docker.types.IPAMPool(
                        subnet=str(network),
                        iprange=str(upper),
                        gateway=str(network.network_address + 1),
                    )
                ]
            )
            try:
                self.client.networks.create(
                    name,
                    driver="overlay",
                    attachable=True,
                    ipam=ipam,
                    labels=_labels(network=str(network)),
                )
            except APIError as error:
                raise PoolRefused(
                    f"cannot create the overlay {name} ({network}) on {self.manager_address}: "
                    f"{error.explanation}; choose another PRONOTE_DC_ADDRESS_POOL"
                ) from error
        self._ensure_gateway(network)

    def _ensure_gateway(self, network: ipaddress.IPv4Network) -> None:
        """The host reaches the overlay: gateway container, manager route, host route."""
        name = "pdc-gateway-" + _dashed(network)
        api = self.client.api
        try:
            state = api.inspect_container(name)["State"]
            if not state.get("Running"):
                api.remove_container(name, force=True)
                raise NotFound("stopped")
        except NotFound:
            try:
                self.client.images.get(GATEWAY_IMAGE)
            except ImageNotFound:
                raise RuntimeFailure(
                    f"the gateway image {GATEWAY_IMAGE} is missing on the manager "
                    f"{self.manager_address}: `pronote-dc lab up` loads it (it carries iptables)"
                ) from None
            host_config = api.create_host_config(
                cap_add=["NET_ADMIN"],
                sysctls={"net.ipv4.ip_forward": "1"},
                restart_policy={"Name": "unless-stopped"},
                network_mode=self.network_name,
            )
            created = api.create_container(
                GATEWAY_IMAGE,
                name=name,
                entrypoint=["sh", "-c"],
                command=[
                    f"iptables -t nat -C POSTROUTING -d {network} -j MASQUERADE 2>/dev/null || "
                    f"iptables -t nat -A POSTROUTING -d {network} -j MASQUERADE; "
                    "exec sleep infinity"
                ],
                labels=_labels(gateway=str(network)),
                host_config=host_config,
                detach=True,
            )
            api.start(created["Id"])
        via = self._exec(name, ["ip", "-4", "-o", "route", "get", self.manager_address])
        bridge_ip = via.split(" src ")[1].split()[0]
        # The manager's root namespace: route the pool to the gateway, let it through.
        rules = (
            f"ip route replace {network} via {bridge_ip}; "
            f"iptables -C DOCKER-USER -d {network} -j ACCEPT 2>/dev/null || "
            f"iptables -I DOCKER-USER -d {network} -j ACCEPT; "
            f"iptables -C DOCKER-USER -s {network} -j ACCEPT 2>/dev/null || "
            f"iptables -I DOCKER-USER -s {network} -j ACCEPT"
        )
        output = self.client.containers.run(
            GATEWAY_IMAGE,
            entrypoint=["sh", "-c"],
            command=[rules],
            network_mode="host",
            cap_add=["NET_ADMIN"],
            remove=True,
            labels=_labels(gateway=str(network)),
        )
        del output
        if self.host_route:
            self._host_route(network)

    def _host_route(self, network: ipaddress.IPv4Network) -> None:
        if os.geteuid() != 0:
            raise RuntimeFailure(
                f"reaching the overlay {network} from this host needs a route "
                f"(`ip route replace {network} via {self.manager_address}`), which needs root: "
                "run it once as root, then start the controller with ?route=0 in the runtime URL"
            )
        result = subprocess.run(
            ["ip", "route", "replace", str(network), "via", self.manager_address],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeFailure(
                f"cannot route {network} via the manager {self.manager_address}: "
                f"{result.stderr.strip()}"
            )

    def _exec(self, container: str, command: list[str]) -> str:
        created = self.client.api.exec_create(container, command)
        return self.client.api.exec_start(created["Id"]).decode()

    # -- names -----------------------------------------------------------------------------

    @staticmethod
    def instance(spec: SchoolSpec) -> str:
        """Which controller the school belongs to: its state directory, hashed."""
        return hashlib.sha256(str(spec.school_dir.parent).encode()).hexdigest()[:8]

    def service_name(self, spec: SchoolSpec) -> str:
        return f"pdc-{self.instance(spec)}-{spec.uai}"

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self, spec: SchoolSpec, timeout_seconds: float) -> int:
        """Create the school's service, or keep it if it exists with the same config (a task
        Swarm is rescheduling after a node was lost is waited for, not replaced); return once
        its task listens on its overlay address. Raises StartFailed (the service removed)."""
        deadline = time.monotonic() + timeout_seconds
        try:
            created = await asyncio.to_thread(self._create, spec)
            return await self._wait_listening(spec, deadline, timeout_seconds, created)
        except (DockerException, OSError) as error:  # requests' errors are OSErrors
            with contextlib.suppress(DockerException, OSError):
                await asyncio.shield(asyncio.to_thread(self._remove_service, spec))
            raise StartFailed(
                f"the swarm manager {self.manager_address} failed while school {spec.uai} was "
                f"being started ({error}); check `pronote-dc nodes list`, then retry",
                [],
            ) from error
        except BaseException:
            await asyncio.shield(asyncio.to_thread(self._remove_service, spec))
            raise

    def _create(self, spec: SchoolSpec) -> bool:
        """Create the school's service (True), or keep the one of the same config (False)."""
        if self._overlay is None:
            raise StartFailed("the swarm runtime was not prepared (no overlay network)", [])
        config = json.loads(spec.config_path.read_text(encoding="utf-8"))
        config["data_dir"] = "/school/data"  # its address: the task's own (AGENT_COMMAND)
        config.pop("backup_dir", None)  # /school/backups, on the same volume
        env = json.dumps(config, sort_keys=True)
        digest = hashlib.sha256(f"{self.image}\n{env}".encode()).hexdigest()[:16]
        with contextlib.suppress(NotFound):
            service = self.client.api.inspect_service(self.service_name(spec))
            if service["Spec"].get("Labels", {}).get(f"{LABEL}.config") == digest:
                return False  # the same school: Swarm (re)schedules its task; the caller waits
        self._remove_service(spec)
        labels = _labels(school=spec.uai, instance=self.instance(spec))
        template = TaskTemplate(
            container_spec=ContainerSpec(
                self.image,
                command=["sh", "-c", AGENT_COMMAND],
                env={"PRONOTE_DC_AGENT_JSON": env},
                hostname=f"pdc-{spec.uai.lower()}",
                labels=labels,
                mounts=[
                    Mount("/school", self.service_name(spec), type="volume", labels=labels),
                ],
                # The controller checks gRPC health itself; an image HEALTHCHECK would keep the
                # task out of the overlay's DNS until healthy.
                healthcheck=Healthcheck(test=["NONE"]),
                stop_grace_period=5 * 10**9,
            ),
            resources=Resources(mem_limit=MEMORY_LIMIT, mem_reservation=MEMORY_RESERVATION),
            restart_policy=RestartPolicy(condition="any", delay=10**9, max_attempts=0),
            networks=[
                NetworkAttachmentConfig(
                    self.network_name, aliases=[f"{spec.uai.lower()}.{DNS_SUFFIX}"]
                )
            ],
        )
        try:
            self.client.api.create_service(
                template,
                name=self.service_name(spec),
                labels={**labels, f"{LABEL}.runtime": "swarm", f"{LABEL}.config": digest},
                mode=ServiceMode("replicated", replicas=1),
                endpoint_spec=EndpointSpec(mode="dnsrr"),
            )
        except APIError as error:
            raise StartFailed(
                f"the service of school {spec.uai} cannot be created on the swarm of "
                f"{self.manager_address}: {error.explanation}",
                [],
            ) from error
        self._snapshot.invalidate()
        return True

    def _tasks(self, spec: SchoolSpec) -> list[dict[str, Any]]:
        return list(self.client.api.tasks(filters={"service": self.service_name(spec)}))

    def _address_of(self, task: dict[str, Any]) -> str | None:
        for attachment in task.get("NetworksAttachments") or []:
            if attachment.get("Network", {}).get("Spec", {}).get("Name", "").startswith(OVERLAY):
                for address in attachment.get("Addresses") or []:
                    return str(address).split("/")[0]
        return None

    async def _wait_listening(
        self, spec: SchoolSpec, deadline: float, timeout_seconds: float, created: bool
    ) -> int:
        port = int(json.loads(spec.config_path.read_text(encoding="utf-8"))["client_port"])
        last_state = "no task yet"
        while time.monotonic() < deadline:
            try:
                tasks = await asyncio.to_thread(self._tasks, spec)
                if created:  # every task is of this start: one on a lost node ends it at once
                    await asyncio.to_thread(self._refuse_lost_node, spec, tasks)
            except (DockerException, OSError) as error:  # a busy manager: ask again
                last_state = f"the manager did not answer ({error})"
                await asyncio.sleep(1.0)
                continue
            failed = [t for t in tasks if t.get("Status", {}).get("State") in FAILED_STATES]
            task = max(tasks, key=lambda t: t.get("CreatedAt", "")) if tasks else None
            if len(failed) >= 2:
                raise StartFailed(
                    f"the server of school {spec.uai} keeps exiting instead of serving "
                    f"({failed[0].get('Status', {}).get('Err', 'exited')})",
                    await asyncio.to_thread(self.log_tail, spec),
                )
            if task is not None:
                status = task.get("Status", {})
                # In a thread: a node not seen yet is named by a listing of the manager.
                node = await asyncio.to_thread(self._node_name, task.get("NodeID", ""))
                last_state = f"{status.get('State')} {status.get('Err', '')}".strip()
                last_state += f" on node {node}"
                if status.get("State") in {"rejected", "failed"}:
                    raise StartFailed(
                        f"the task of school {spec.uai} was {last_state}: check the node has "
                        f"the image {self.image} (`pronote-dc nodes list`)",
                        await asyncio.to_thread(self.log_tail, spec),
                    )
                address = self._address_of(task)
                if status.get("State") == "running" and address:
                    try:
                        _, writer = await asyncio.wait_for(
                            asyncio.open_connection(address, port), timeout=0.5
                        )
                    except (OSError, TimeoutError):
                        pass
                    else:
                        writer.close()
                        self._snapshot.invalidate()
                        return int(status.get("ContainerStatus", {}).get("PID") or 0)
            await asyncio.sleep(0.2)
        raise StartFailed(
            f"school {spec.uai} did not serve on the overlay within {timeout_seconds:.0f} s "
            f"(task: {last_state}); if that node was lost, Swarm moves the task once it "
            "marks the node down: retry, and check `pronote-dc nodes list`",
            await asyncio.to_thread(self.log_tail, spec),
        )

    def node_states(self) -> dict[str, str]:
        """Node id -> Swarm's state of the node ("ready", "down", "unknown"...), 1 s old at most
        (one call for every school being started)."""
        with self._states_lock:
            if time.monotonic() - self._node_states_at > 1.0:
                self._node_states = {
                    n["ID"]: n.get("Status", {}).get("State", "unknown")
                    for n in self.client.api.nodes()
                }
                self._node_states_at = time.monotonic()
            return dict(self._node_states)

    def _refuse_lost_node(self, spec: SchoolSpec, tasks: list[dict[str, Any]]) -> None:
        states = self.node_states()
        if any(t.get("NodeID") and t["NodeID"] not in states for t in tasks):
            self._node_states_at = 0.0  # a node that joined within the second
            states = self.node_states()
        for task in tasks:
            node_id = task.get("NodeID", "")
            if node_id and states.get(node_id, "gone") != "ready":
                node = self._node_name(node_id)
                raise NodeLost(
                    f"node {node} was lost while school {spec.uai} was being started on it "
                    f"(Swarm marks it {states.get(node_id, 'gone')}). Nothing of the school is "
                    f"kept: its service and address lease are rolled back, and its volume on "
                    f"{node} is removed as soon as {node} is back (or when you remove it: "
                    f"`pronote-dc nodes remove {node}`). Retry now: Swarm places it on a node "
                    "that is up (`pronote-dc nodes list`)",
                    [],
                )

    def _remove_service(self, spec: SchoolSpec) -> None:
        """Remove the service, then wait (up to the grace period and a margin) until its task
        no longer listens: Swarm stops the container after the call returns. A task on a node
        that is not ready is not waited for (nothing reaches it)."""
        states = self.node_states() if self._service_exists(spec) else {}
        addresses = (
            [
                a
                for t in self._tasks(spec)
                if (a := self._address_of(t)) is not None
                and states.get(t.get("NodeID", ""), "down") == "ready"
            ]
            if states
            else []
        )
        with contextlib.suppress(NotFound):
            self.client.api.remove_service(self.service_name(spec))
        self._snapshot.invalidate()
        try:
            port = int(json.loads(spec.config_path.read_text(encoding="utf-8"))["client_port"])
        except (OSError, ValueError, KeyError):
            return
        deadline = time.monotonic() + STOP_WAIT_SECONDS
        for address in addresses:
            while time.monotonic() < deadline and _listening(address, port):
                time.sleep(0.2)

    def _service_exists(self, spec: SchoolSpec) -> bool:
        try:
            self.client.api.inspect_service(self.service_name(spec))
            return True
        except NotFound:
            return False

    async def populate_before_start(
        self, spec: SchoolSpec, request: bytes, timeout_seconds: float
    ) -> bytes:
        raise RuntimeFailure(f"{self.url} populates a demo school once it is started")

    def mark_pages(self, spec: SchoolSpec) -> bool:
        return False  # merges_pages is False

    async def stop(self, spec: SchoolSpec) -> None:
        await asyncio.to_thread(self._remove_service, spec)

    async def remove(self, spec: SchoolSpec) -> None:
        """Remove the school's service and its volume on every node: now on the ready ones (a
        one-shot global job), as soon as it is back on each node that is not (a pending job
        per node: a node lost in the middle of provisioning keeps no volume)."""
        await asyncio.to_thread(self._remove_service, spec)
        volume = self.service_name(spec)
        await asyncio.to_thread(swarm_volumes.remove_now, self.client, self.image, volume)
        self._node_states_at = 0.0
        # In a thread: a listing of the nodes (and its lock) must not hold the event loop.
        for node_id, state in (await asyncio.to_thread(self.node_states)).items():
            if state != "ready":
                await asyncio.to_thread(
                    swarm_volumes.remove_later, self.client, self.image, node_id, volume
                )

    def watch(self, spec: SchoolSpec, on_stop: OnStop) -> bool:
        """No event: Swarm moves and restarts tasks itself; the controller follows them by
        observing (a services and tasks listing per pass), which also sees a task that moved."""
        return False

    async def observe(self, spec: SchoolSpec) -> Observed:
        snapshot = await self._snapshot.get()
        return snapshot.get(self.service_name(spec), Observed(running=False))

    def _list_tasks(self) -> dict[str, Observed]:
        """The running school tasks (two listings of the manager), in a thread; a task found
        on another node than before has its stale volume there removed in the background."""
        services = {
            s["ID"]: s["Spec"]["Name"]
            for s in self.client.api.services(filters={"label": f"{LABEL}.school"})
        }
        snapshot: dict[str, Observed] = {}
        for task in self.client.api.tasks(filters={"desired-state": "running"}):
            name = services.get(task.get("ServiceID", ""))
            status = task.get("Status", {})
            if name is None or status.get("State") != "running":
                continue
            left = self._placed.get(name)
            if left is not None and left != task.get("NodeID"):
                # Moved (node lost, drained): its volume there is stale; removed once it can be.
                self._background(swarm_volumes.remove_later, self.client, self.image, left, name)
            self._placed[name] = task.get("NodeID", "")
            snapshot[name] = Observed(
                running=True,
                pid=int(status.get("ContainerStatus", {}).get("PID") or 0),
                address=self._address_of(task),
                node=self._node_name(task.get("NodeID", "")),
            )
        if time.monotonic() - self._swept_at > 5.0:
            self._swept_at = time.monotonic()
            self._background(swarm_volumes.sweep, self.client)
        return snapshot

    def _background(self, call: Any, *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # closed: the controller is stopping
            self._cleaner.submit(_quietly, call, *args)

    def _node_name(self, node_id: str) -> str:
        """A node's hostname (its id's first 12 characters if the manager does not know it);
        a listing of the manager for an id not seen yet: call it in a thread."""
        if not node_id:
            return "none yet"  # a task Swarm has not placed: no listing can name it
        if node_id not in self._nodes:
            with contextlib.suppress(APIError, NotFound):
                for node in self.client.api.nodes():
                    self._nodes[node["ID"]] = node.get("Description", {}).get(
                        "Hostname", node["ID"][:12]
                    )
        return self._nodes.get(node_id, node_id[:12])

    def log_tail(self, spec: SchoolSpec, lines: int = 20) -> list[str]:
        try:
            raw = self.client.api.service_logs(
                self.service_name(spec), stdout=True, stderr=True, tail=lines
            )
            text = b"".join(raw).decode("utf-8", errors="replace")
        except (APIError, NotFound):
            return []
        return text.splitlines()[-lines:]

    def school_tasks_per_node(self) -> dict[str, int]:
        """Node id -> running school tasks (for `nodes list`)."""
        counts: dict[str, int] = {}
        services = {s["ID"] for s in self.client.api.services(filters={"label": f"{LABEL}.school"})}
        for task in self.client.api.tasks(filters={"desired-state": "running"}):
            if (
                task.get("ServiceID") in services
                and task.get("Status", {}).get("State") == "running"
            ):
                counts[task["NodeID"]] = counts.get(task["NodeID"], 0) + 1
        return counts

    async def close(self) -> None:
        self._cleaner.shutdown(wait=False, cancel_futures=True)
        if self._client is not None:
            self._client.close()
            self._client = None


def _quietly(call: Any, *args: Any) -> None:
    """A background volume clean-up; a failure is logged (`pronote-dc clean` removes what is
    left)."""
    try:
        call(*args)
    except (DockerException, OSError) as error:
        log.warning("swarm volume clean-up %s failed: %s", call.__name__, error)


def _listening(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=0.5):
            return True
    except OSError:
        return False
