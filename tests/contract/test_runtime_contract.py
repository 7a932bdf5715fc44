"""One contract for every runtime: what the fleet relies on, run against local://, docker://
and swarm:// (a one-node Swarm lab of Docker-in-Docker, started once for this module).

A school serves at the address `observe` reports when the runtime chose it (swarm://: its
task's), else at the address it was given. The docker and swarm cases need an engine and the
agent image: skipped without them outside CI, failed in CI (tests/docker/engine.py)."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import random
import signal
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from common import secrets
from common.agent_config import AgentConfig, save_config
from protos import agent_pb2, agent_pb2_grpc
from provisioning.factory import open_runtime
from provisioning.runtime import Observed, Runtime, SchoolSpec, StartFailed
from vm_agent.healthcheck import check

SECRET = "contract-secret"


@dataclass
class Case:
    runtime: Runtime
    new_address: Callable[[], str]
    kill: Callable[[SchoolSpec], None]
    schools_dir: Path

    def where(self, spec: SchoolSpec) -> str:
        """Where the school answers: the runtime's choice if it made one, else its address."""
        return self.observed(spec).address or spec.address

    def spec(self, uai: str) -> SchoolSpec:
        spec = SchoolSpec(uai, self.new_address(), self.schools_dir / uai)
        save_config(
            spec.config_path,
            AgentConfig(
                uai=uai,
                school_name=f"Collège {uai}",
                address=spec.address,
                data_dir=spec.data_dir,
                agent_secret_hash=secrets.hash_secret(SECRET),
            ),
        )
        return spec

    def run(self, coroutine: object) -> object:
        return self.loop.run_until_complete(coroutine)  # type: ignore[arg-type]

    def observed(self, spec: SchoolSpec) -> Observed:
        return self.loop.run_until_complete(self.runtime.observe(spec))

    loop: asyncio.AbstractEventLoop = None  # type: ignore[assignment]


def free_loopback() -> str:
    """An address of 127.72.0.0/16 (this tier's loopback range) with port 49300 free."""
    while True:
        address = f"127.72.{random.randrange(1, 255)}.{random.randrange(1, 255)}"
        with socket.socket() as sock:
            try:
                sock.bind((address, 49300))
            except OSError:
                continue
            return address


def kill_local(spec: SchoolSpec) -> None:
    os.kill(int(json.loads(spec.pid_file.read_text())["pid"]), signal.SIGKILL)


@pytest.fixture(scope="module")
def swarm_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A one-node swarm (the manager alone) of the lab; its runtime URL. Gone with this module
    (the Docker tier's `clean` on docker:// removes every pronote-dc container, labs too)."""
    from provisioning import swarm_lab as lab
    from tests.docker.engine import engine_or_skip

    engine = engine_or_skip()
    image = os.environ.get("PRONOTE_DC_AGENT_IMAGE", "pronote-dc/agent:latest")
    name = f"contract{random.randrange(16**4):04x}"
    used = [
        ipaddress.ip_network(c["Subnet"])
        for n in engine.api.networks()
        for c in (n.get("IPAM") or {}).get("Config") or []
        if ":" not in c.get("Subnet", ":")
    ]
    subnet = next(
        s
        for s in (ipaddress.ip_network(f"172.29.{i}.0/24") for i in range(40, 100))
        if not any(s.overlaps(u) for u in used)
    )
    lab_dir = tmp_path_factory.mktemp("contract-lab")
    try:
        nodes = lab.up(name, 1, str(subnet), lab_dir)
        url = lab.form_swarm(nodes, lab_dir, image)
        yield f"{url}?image={image}"
    finally:
        lab.down(name)


@pytest.fixture(params=["local", "docker", "swarm"])
def case(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Case]:
    loop = asyncio.new_event_loop()
    schools_dir = tmp_path / "state" / "schools"
    if request.param == "local":
        runtime = open_runtime("local://")
        loop.run_until_complete(runtime.prepare("127.72.0.0/16"))
        case = Case(runtime, free_loopback, kill_local, schools_dir)
        cleanup: Callable[[], None] = lambda: None  # noqa: E731
    elif request.param == "swarm":
        url = request.getfixturevalue("swarm_lab")
        runtime = open_runtime(url)
        pool = f"10.{random.randrange(200, 250)}.{random.randrange(256)}.0/24"
        reserved = loop.run_until_complete(runtime.prepare(pool))
        lower = (str(a) for a in ipaddress.ip_network(pool).hosts() if str(a) not in reserved)
        manager = url.split("?")[0].replace("swarm://", "tcp://")

        def kill_task(spec: SchoolSpec) -> None:
            import docker

            node = docker.DockerClient(base_url=manager, timeout=30)  # the only node
            for container in node.api.containers(
                filters={"label": f"pronote-dc.school={spec.uai}"}
            ):
                node.api.kill(container["Id"])
            node.close()

        case = Case(runtime, lambda: next(lower), kill_task, schools_dir)

        def cleanup() -> None:
            from provisioning import swarm_clean

            swarm_clean.remove_leftovers(url, swarm_clean.leftovers(url))

    else:
        from tests.docker.engine import engine_or_skip, free_subnet, remove_everything_of

        engine = engine_or_skip()
        subnet = free_subnet(engine, 28)
        runtime = open_runtime("docker://")
        reserved = loop.run_until_complete(runtime.prepare(subnet))
        free = (str(a) for a in ipaddress.ip_network(subnet).hosts() if str(a) not in reserved)

        def kill_container(spec: SchoolSpec) -> None:
            for container in engine.api.containers(
                filters={"label": f"pronote-dc.school={spec.uai}"}
            ):
                engine.api.kill(container["Id"])

        case = Case(runtime, lambda: next(free), kill_container, schools_dir)

        def cleanup() -> None:
            remove_everything_of(engine, tmp_path / "state", subnet)

    case.loop = loop
    try:
        yield case
    finally:
        for spec_dir in schools_dir.glob("*"):
            loop.run_until_complete(case.runtime.stop(SchoolSpec(spec_dir.name, "", spec_dir)))
        loop.run_until_complete(case.runtime.close())
        loop.close()
        cleanup()


def wait_serving(case: Case, spec: SchoolSpec, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    status = ""
    while time.monotonic() < deadline:
        status = check(f"{case.where(spec)}:49300", 2.0)
        if status == "SERVING":
            return
        time.sleep(0.05)
    raise AssertionError(f"{spec.uai} is not serving: {status}")


def agent(case: Case, spec: SchoolSpec) -> tuple[grpc.Channel, agent_pb2_grpc.AgentStub]:
    channel = grpc.insecure_channel(f"{case.where(spec)}:49301")
    return channel, agent_pb2_grpc.AgentStub(channel)


AUTH = (("authorization", f"Bearer {SECRET}"),)


def test_a_started_school_serves_on_its_address_and_stops(case: Case) -> None:
    spec = case.spec("0750501W")
    pid = case.run(case.runtime.start(spec, 30))
    assert isinstance(pid, int)
    wait_serving(case, spec)
    assert case.observed(spec).running
    assert isinstance(case.runtime.log_tail(spec), list)
    where = case.where(spec)

    case.run(case.runtime.stop(spec))
    assert not case.observed(spec).running
    assert check(f"{where}:49300", 1.0) != "SERVING"
    case.run(case.runtime.stop(spec))  # stopping a stopped school is fine


def test_a_killed_school_starts_again_with_its_data(case: Case) -> None:
    spec = case.spec("0750502X")
    case.run(case.runtime.start(spec, 30))
    wait_serving(case, spec)
    channel, stub = agent(case, spec)
    with channel:
        base = stub.CreateBase(
            agent_pb2.CreateBaseRequest(school_year="2026-2027"), metadata=AUTH, timeout=10
        )

    case.kill(spec)
    case.run(case.runtime.start(spec, 30))
    wait_serving(case, spec)
    channel, stub = agent(case, spec)
    with channel:
        bases = stub.ListBases(agent_pb2.Empty(), metadata=AUTH, timeout=10)
    assert [b.id for b in bases.bases] == [base.id]


def test_a_school_that_cannot_start_fails_with_the_reason_and_leaves_nothing(
    case: Case,
) -> None:
    spec = case.spec("0750503Y")
    config = json.loads(spec.config_path.read_text())
    spec.config_path.write_text(json.dumps({**config, "unknown_setting": 1}))
    with pytest.raises(StartFailed) as failure:
        case.run(case.runtime.start(spec, 30))
    assert "unknown_setting" in str(failure.value)
    assert not case.observed(spec).running


def test_a_removed_school_is_gone(case: Case) -> None:
    spec = case.spec("0750504Z")
    case.run(case.runtime.start(spec, 30))
    wait_serving(case, spec)
    where = case.where(spec)
    case.run(case.runtime.remove(spec))
    assert not case.observed(spec).running
    assert check(f"{where}:49300", 1.0) != "SERVING"


def test_a_watched_school_that_dies_is_reported_once_and_a_stopped_one_never(
    case: Case,
) -> None:
    """`watch` (DESIGN decision 31): the event the fleet restarts a dead school on. A runtime
    without such an event says so (False) and never calls."""
    killed, stopped = case.spec("0750505A"), case.spec("0750506B")
    reported: list[str] = []

    async def scenario() -> bool:
        for spec in (killed, stopped):
            await case.runtime.start(spec, 30)
        watching = [case.runtime.watch(spec, reported.append) for spec in (killed, stopped)]
        if not any(watching):
            return False
        assert all(watching)
        case.kill(killed)
        deadline = time.monotonic() + 10
        while not reported and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        await case.runtime.stop(stopped)  # a stop the caller asked for is not an event
        await asyncio.sleep(0.3)
        return True

    watching = case.run(scenario())
    assert reported == ([killed.uai] if watching else [])  # without events: never called


def test_a_watch_on_a_school_that_does_not_run_reports_it_soon(case: Case) -> None:
    """Also when its pid file names a process that is not it (a pid the kernel reused)."""
    spec = case.spec("0750507C")
    spec.pid_file.write_text(json.dumps({"pid": os.getpid(), "start_ticks": 1, "name": spec.uai}))
    reported: list[str] = []

    async def scenario() -> bool:
        watching = case.runtime.watch(spec, reported.append)
        await asyncio.sleep(0.2)
        return watching

    watching = case.run(scenario())
    assert reported == ([spec.uai] if watching else [])


def test_a_school_asked_to_mark_its_pages_keeps_serving(case: Case) -> None:
    """`mark_pages` (DESIGN decision 40) asks only where pages are merged; a school that does
    not listen for it (its merging off, as here) ignores the signal instead of ending."""
    spec = case.spec("0750505S")
    case.run(case.runtime.start(spec, 30))
    wait_serving(case, spec)
    assert case.runtime.mark_pages(spec) is False  # it does not listen (merging off): not asked
    time.sleep(0.5)  # a signal's default action would have ended it by now
    assert case.observed(spec).running
    wait_serving(case, spec, timeout=2.0)
    case.run(case.runtime.stop(spec))
    assert case.runtime.mark_pages(spec) is False  # nothing runs: nobody to ask
