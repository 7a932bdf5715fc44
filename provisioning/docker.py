"""The Docker runtime: one container per school, on its own static IP of a bridge network.

`docker://` talks to the local engine (DOCKER_HOST, else /var/run/docker.sock),
`ssh://user@host` to a remote one (docker SDK over paramiko); `?image=NAME` picks the agent
image. The controller's address pool *is* the bridge
subnet: it is split into /22 networks (1021 schools each), so a large pool spreads schools over
several bridges. Everything carries `pronote-dc.*` labels, which is how containers are found
again after a controller restart and how `pronote-dc clean` finds what to remove.

The school's data lives on a named volume, its backups on another one that outlives the school
until purged. A start waits until the school's client port accepts connections (the caller then
checks its gRPC health); a container that exits or never listens is removed and its last log
lines are reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import ipaddress
import json
import os
import tarfile
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import docker
import paramiko
from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.types import Mount

from provisioning.runtime import (
    Observed,
    OnStop,
    RuntimeFailure,
    SchoolSpec,
    StartFailed,
    StartTimedOut,
)
from provisioning.snapshot import SharedSnapshot

DEFAULT_IMAGE = "pronote-dc/agent:latest"
DEFAULT_POOL = "172.30.0.0/22"
SHARD_PREFIX = 22
LABEL = "pronote-dc"
STOP_GRACE_SECONDS = 5
SNAPSHOT_SECONDS = 0.25
ENGINE_HELP = (
    "start an engine (`sudo systemctl start docker`, or `scripts/docker-engine.sh` which "
    "installs and starts one), or choose another runtime with PRONOTE_DC_RUNTIME / --runtime"
)


class EngineUnreachable(RuntimeFailure):
    pass


class PoolRefused(RuntimeFailure):
    pass


@dataclass(frozen=True)
class Shard:
    """One bridge network holding a /22 (or smaller) slice of the pool."""

    subnet: ipaddress.IPv4Network

    @property
    def name(self) -> str:
        return f"pronote-dc-{self.subnet.network_address}-{self.subnet.prefixlen}"

    @property
    def gateway(self) -> str:
        return str(self.subnet.network_address + 1)

    def reserved(self) -> set[str]:
        return {str(self.subnet.network_address), self.gateway, str(self.subnet.broadcast_address)}


def shards_of(pool: str) -> list[Shard]:
    try:
        network = ipaddress.ip_network(pool, strict=True)
    except ValueError as error:
        raise PoolRefused(f"address pool {pool!r} is not a network ({error})") from None
    if (
        not isinstance(network, ipaddress.IPv4Network)
        or not network.is_private
        or (network.is_loopback or network.prefixlen > 29)
    ):
        raise PoolRefused(
            f"the docker runtime leases school addresses on its bridge networks, so the address "
            f"pool must be a private IPv4 subnet (/29 or larger), not {pool}: set "
            f"PRONOTE_DC_ADDRESS_POOL={DEFAULT_POOL} (the documented default) or another subnet"
        )
    if network.prefixlen >= SHARD_PREFIX:
        return [Shard(network)]
    return [Shard(subnet) for subnet in network.subnets(new_prefix=SHARD_PREFIX)]


def _labels(**values: str) -> dict[str, str]:
    return {f"{LABEL}.{key}": value for key, value in values.items()}


class DockerRuntime:
    start_waits_for_ready = False  # start waits for the port; the fleet checks gRPC health
    moves_schools = False
    populates_before_start = False  # a demo school is populated once started
    merges_pages = False  # every page its own (no fork): passes not measured, not run

    def __init__(self, url: str = "docker://") -> None:
        self.url = url
        parts = urlsplit(url)
        self.image = parse_qs(parts.query).get("image", [DEFAULT_IMAGE])[0]
        if parts.scheme == "docker":
            default = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
            self._base_url = f"unix://{parts.path}" if parts.path else default
        else:
            self._base_url = f"ssh://{parts.netloc}"
        self._client: docker.DockerClient | None = None
        self._shards: list[Shard] = []
        self._ready_networks: set[str] = set()
        self._network_lock = threading.Lock()
        # (instance, uai) -> its container, as listed (what `observe` answers from)
        self._snapshot: SharedSnapshot[dict[tuple[str, str], dict[str, Any]]] = SharedSnapshot(
            self._list_containers, {}, SNAPSHOT_SECONDS
        )
        # (instance, uai) -> (on_stop, its loop): who hears of a container's death
        self._watchers: dict[tuple[str, str], tuple[OnStop, asyncio.AbstractEventLoop]] = {}
        self._unchecked: set[tuple[str, str]] = set()
        self._watch_lock = threading.Lock()
        self._events: threading.Thread | None = None
        self._stream: Any = None
        self._subscribed = False
        self._closing = False

    # -- engine ----------------------------------------------------------------------------

    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:
            try:
                self._client = docker.DockerClient(
                    base_url=self._base_url, timeout=60, max_pool_size=32
                )
                self._client.ping()
            except (DockerException, OSError, paramiko.SSHException) as error:
                self._client = None
                raise EngineUnreachable(
                    f"cannot reach the Docker engine of runtime {self.url} ({self._base_url}): "
                    f"{error}. {ENGINE_HELP}"
                ) from error
        return self._client

    async def prepare(self, pool: str) -> frozenset[str]:
        shards = shards_of(pool)
        await asyncio.to_thread(self._check_engine, shards)
        self._shards = shards
        return frozenset(address for shard in shards for address in shard.reserved())

    def _check_engine(self, shards: list[Shard]) -> None:
        try:
            self.client.images.get(self.image)
        except ImageNotFound:
            raise RuntimeFailure(
                f"the agent image {self.image} is missing on {self.url}: build it with "
                "`make docker-images` (or pass another one with ?image=NAME in the runtime URL)"
            ) from None
        ours = {shard.name for shard in shards}
        for network in self.client.networks.list():
            configs = (network.attrs.get("IPAM") or {}).get("Config") or []
            for config in configs:
                try:
                    subnet = ipaddress.ip_network(config.get("Subnet", ""))
                except ValueError:
                    continue
                clashes = [s for s in shards if s.subnet.overlaps(subnet)]
                if not clashes:
                    continue
                if network.name in ours and subnet == clashes[0].subnet:
                    continue
                raise PoolRefused(
                    f"the address pool's subnet {clashes[0].subnet} clashes with the Docker "
                    f"network {network.name!r} ({subnet}) on {self.url}: choose another "
                    f"PRONOTE_DC_ADDRESS_POOL or remove that network (`pronote-dc clean` "
                    "removes the project's own)"
                )

    def _shard_for(self, address: str) -> Shard:
        ip = ipaddress.ip_address(address)
        for shard in self._shards or shards_of(DEFAULT_POOL):
            if ip in shard.subnet:
                return shard
        raise StartFailed(
            f"address {address} is outside the runtime's bridge subnets "
            f"({', '.join(str(s.subnet) for s in self._shards)})",
            [],
        )

    def _ensure_network(self, shard: Shard) -> None:
        with self._network_lock:
            if shard.name in self._ready_networks:
                return
            try:
                self.client.networks.get(shard.name)
            except NotFound:
                ipam = docker.types.IPAMConfig(
                    pool_configs=[
                        docker.types.IPAMPool(subnet=str(shard.subnet), gateway=shard.gateway)
                    ]
                )
                try:
                    self.client.networks.create(
                        shard.name,
                        driver="bridge",
                        ipam=ipam,
                        labels=_labels(network=str(shard.subnet)),
                    )
                except APIError as error:
                    raise StartFailed(
                        f"cannot create the bridge network {shard.name} ({shard.subnet}): "
                        f"{error.explanation}; choose another PRONOTE_DC_ADDRESS_POOL",
                        [],
                    ) from error
            self._ready_networks.add(shard.name)

    # -- names -----------------------------------------------------------------------------

    @staticmethod
    def instance(spec: SchoolSpec) -> str:
        """Which controller the school belongs to: its state directory, hashed."""
        return hashlib.sha256(str(spec.school_dir.parent).encode()).hexdigest()[:8]

    def _name(self, spec: SchoolSpec, suffix: str = "") -> str:
        return f"pdc-{self.instance(spec)}-{spec.uai}{suffix}"

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self, spec: SchoolSpec, timeout_seconds: float) -> int:
        deadline = time.monotonic() + timeout_seconds
        try:
            container_id = await asyncio.to_thread(self._create_and_start, spec)
            pid = await self._wait_listening(spec, container_id, deadline, timeout_seconds)
        except BaseException:
            await asyncio.shield(asyncio.to_thread(self._remove_container, spec))
            raise
        self._snapshot.invalidate()
        return pid

    def _create_and_start(self, spec: SchoolSpec) -> str:
        config = json.loads(spec.config_path.read_text(encoding="utf-8"))
        config["data_dir"] = "/school/data"
        # The agent's default backup dir, <data_dir>/../backups, is /school/backups: the
        # backups volume, which outlives the school (and images older than backups still start).
        config.pop("backup_dir", None)
        shard = self._shard_for(spec.address)
        self._ensure_network(shard)
        self._remove_container(spec)  # a stopped or dead one: recreated on the same volumes
        api = self.client.api
        labels = _labels(school=spec.uai, instance=self.instance(spec))
        for kind in ("data", "backups"):
            try:
                self.client.volumes.get(self._name(spec, f"-{kind}"))
            except NotFound:
                self.client.volumes.create(
                    self._name(spec, f"-{kind}"), labels={**labels, f"{LABEL}.volume": kind}
                )
        host_config = api.create_host_config(
            restart_policy={"Name": "unless-stopped"},
            mounts=[
                Mount("/school/data", self._name(spec, "-data"), type="volume"),
                Mount("/school/backups", self._name(spec, "-backups"), type="volume"),
            ],
        )
        networking = api.create_networking_config(
            {shard.name: api.create_endpoint_config(ipv4_address=spec.address)}  # type: ignore[arg-type]
        )
        try:
            created = api.create_container(
                self.image,
                name=self._name(spec),
                hostname=f"pdc-{spec.uai.lower()}",
                labels={**labels, f"{LABEL}.address": spec.address},
                host_config=host_config,
                networking_config=networking,
                detach=True,
            )
        except ImageNotFound:
            raise StartFailed(
                f"the agent image {self.image} is missing on {self.url}: build it with "
                "`make docker-images`",
                [],
            ) from None
        container_id = str(created["Id"])
        api.put_archive(container_id, "/school", _tar({"agent.json": json.dumps(config)}))
        try:
            api.start(container_id)
        except APIError as error:
            raise StartFailed(
                f"the container of school {spec.uai} cannot start at {spec.address}: "
                f"{error.explanation}. If the address is already in use, remove what holds it "
                f"(`docker network inspect {shard.name}`)",
                [],
            ) from error
        return container_id

    async def _wait_listening(
        self, spec: SchoolSpec, container_id: str, deadline: float, timeout_seconds: float
    ) -> int:
        port = int(json.loads(spec.config_path.read_text(encoding="utf-8"))["client_port"])
        next_inspect = 0.0
        while True:
            now = time.monotonic()
            if now >= next_inspect:
                state = await asyncio.to_thread(self._state, container_id)
                if state.get("Status") in {"exited", "dead", "restarting"} or state["Restarts"]:
                    raise StartFailed(
                        f"the container of school {spec.uai} exited with code "
                        f"{state.get('ExitCode')} instead of serving",
                        await asyncio.to_thread(self.log_tail, spec),
                    )
                next_inspect = now + 0.5
            try:
                _, writer = await asyncio.wait_for(
                    asyncio.open_connection(spec.address, port), timeout=0.5
                )
            except (OSError, TimeoutError):
                if time.monotonic() >= deadline:
                    raise StartTimedOut(
                        f"school {spec.uai} did not listen on {spec.address}:{port} within "
                        f"{timeout_seconds:.0f} s",
                        await asyncio.to_thread(self.log_tail, spec),
                    ) from None
                await asyncio.sleep(0.05)
                continue
            writer.close()
            return int(state.get("Pid") or 0)

    def _state(self, container_id: str) -> dict[str, Any]:
        try:
            inspected = self.client.api.inspect_container(container_id)
        except NotFound:
            return {"Status": "dead", "ExitCode": "unknown (the container is gone)", "Restarts": 0}
        state: dict[str, Any] = inspected["State"]
        return {**state, "Restarts": inspected.get("RestartCount", 0)}

    def _find(self, spec: SchoolSpec) -> list[dict[str, Any]]:
        return list(
            self.client.api.containers(
                all=True,
                filters={
                    "label": [
                        f"{LABEL}.school={spec.uai}",
                        f"{LABEL}.instance={self.instance(spec)}",
                    ]
                },
            )
        )

    def _remove_container(self, spec: SchoolSpec) -> None:
        for container in self._find(spec):
            with contextlib.suppress(NotFound):
                self.client.api.remove_container(container["Id"], force=True)
        self._snapshot.invalidate()

    async def populate_before_start(
        self, spec: SchoolSpec, request: bytes, timeout_seconds: float
    ) -> bytes:
        raise RuntimeFailure(f"{self.url} populates a demo school once it is started")

    def mark_pages(self, spec: SchoolSpec) -> bool:
        return False  # merges_pages is False

    async def stop(self, spec: SchoolSpec) -> None:
        self._unwatch(spec)
        await asyncio.to_thread(self._stop, spec)

    def _stop(self, spec: SchoolSpec) -> None:
        for container in self._find(spec):
            if container["State"] == "running":
                with contextlib.suppress(NotFound):
                    self.client.api.stop(container["Id"], timeout=STOP_GRACE_SECONDS)
        self._snapshot.invalidate()

    async def remove(self, spec: SchoolSpec) -> None:
        """Remove the school's container and data; its backups volume stays until purged."""
        self._unwatch(spec)
        await asyncio.to_thread(self._remove, spec)

    def _remove(self, spec: SchoolSpec) -> None:
        for container in self._find(spec):
            if container["State"] == "running":  # a last backup, beside the earlier ones
                stamp = time.strftime("%Y%m%dT%H%M%S")
                backup = self.client.api.exec_create(
                    container["Id"], ["cp", "-a", "/school/data", f"/school/backups/{stamp}"]
                )
                self.client.api.exec_start(backup["Id"])
        self._remove_container(spec)
        with contextlib.suppress(NotFound):
            self.client.volumes.get(self._name(spec, "-data")).remove(force=True)

    def watch(self, spec: SchoolSpec, on_stop: OnStop) -> bool:
        """The engine's events stream, filtered by the project's labels: a `die` (or `destroy`)
        of the school's container calls `on_stop` (DESIGN decision 31). One stream for the whole
        fleet, read by a thread; once subscribed, the thread also looks whether the container
        runs at all (it may have died before). A broken stream (engine restarted) reports
        every watched school, which the fleet observes and watches again."""
        loop = asyncio.get_running_loop()
        key = (self.instance(spec), spec.uai)
        with self._watch_lock:
            self._watchers[key] = (on_stop, loop)
            self._unchecked.add(key)
            if self._events is None or not self._events.is_alive():
                self._events = threading.Thread(
                    target=self._follow_events, name="docker-events", daemon=True
                )
                self._events.start()
            elif self._subscribed:
                loop.run_in_executor(None, self._check_running)
        return True

    def _follow_events(self) -> None:
        try:
            stream = self.client.events(
                decode=True,
                # `destroy` too: a container removed by force is still listed as running when
                # its `die` comes, so the fleet may watch it again; its `destroy` then tells.
                filters={
                    "type": "container",
                    "event": ["die", "destroy"],
                    "label": f"{LABEL}.school",
                },
            )
        except (DockerException, OSError) as error:
            self._stream_broken(str(error))
            return
        with self._watch_lock:
            self._stream, self._subscribed = stream, True
        self._check_running()
        try:
            for event in stream:
                labels = (event.get("Actor") or {}).get("Attributes") or {}
                self._report((labels.get(f"{LABEL}.instance", ""), labels.get(f"{LABEL}.school")))
        except (DockerException, OSError, ValueError) as error:
            self._stream_broken(str(error))
            return
        if not self._closing:
            self._stream_broken("the engine closed the events stream")

    def _check_running(self) -> None:
        """The containers watched since the last look: any not running is reported."""
        with self._watch_lock:
            keys, self._unchecked = self._unchecked, set()
        if not keys:
            return
        try:
            running = {
                (c["Labels"].get(f"{LABEL}.instance", ""), c["Labels"][f"{LABEL}.school"])
                for c in self.client.api.containers(filters={"label": f"{LABEL}.school"})
                if c["State"] == "running"
            }
        except (DockerException, OSError):
            running = set()  # reported: the fleet looks again
        for key in keys - running:
            self._report(key)

    def _report(self, key: tuple[str, str | None]) -> None:
        with self._watch_lock:
            watcher = self._watchers.pop(key, None)  # type: ignore[arg-type]
        if watcher is None:
            return
        self._snapshot.invalidate()  # observe() must not answer from before the death
        on_stop, loop = watcher
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody to tell
            loop.call_soon_threadsafe(on_stop, key[1] or "")

    def _stream_broken(self, why: str) -> None:
        with self._watch_lock:
            self._stream, self._subscribed = None, False
            keys = list(self._watchers)
        if self._closing:
            return
        for key in keys:
            self._report(key)

    def _unwatch(self, spec: SchoolSpec) -> None:
        with self._watch_lock:
            self._watchers.pop((self.instance(spec), spec.uai), None)

    async def observe(self, spec: SchoolSpec) -> Observed:
        container = (await self._snapshot.get()).get((self.instance(spec), spec.uai))
        if container is None or container["State"] != "running":
            return Observed(running=False)
        return Observed(running=True)

    def _list_containers(self) -> dict[tuple[str, str], dict[str, Any]]:
        containers = self.client.api.containers(all=True, filters={"label": f"{LABEL}.school"})
        return {
            (c["Labels"].get(f"{LABEL}.instance", ""), c["Labels"][f"{LABEL}.school"]): c
            for c in containers
        }

    def log_tail(self, spec: SchoolSpec, lines: int = 20) -> list[str]:
        for container in self._find(spec):
            try:
                raw = self.client.api.logs(container["Id"], tail=lines)
            except NotFound:
                continue
            return raw.decode("utf-8", errors="replace").splitlines()[-lines:]
        return []

    async def close(self) -> None:
        self._closing = True
        with self._watch_lock:
            self._watchers.clear()
            stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(Exception):
                stream.close()
        if self._events is not None:
            await asyncio.to_thread(self._events.join, 5)
        if self._client is not None:
            self._client.close()
            self._client = None


def _tar(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o600
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
