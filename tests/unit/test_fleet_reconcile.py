"""The fleet's reconciliation and adoption (DESIGN decision 7) on fakes of the runtime and the
agents: what the controller does when a school dies, keeps failing, or was already running."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from common.clock import SimulatedClock
from datacenter.core import fleet as fleet_module
from datacenter.core.contacts import Responsable
from datacenter.core.errors import TimedOut, Unavailable
from datacenter.core.fleet import Fleet, SchoolOrder, SchoolStatus
from datacenter.core.ipam import AddressPool
from datacenter.core.registry import Registry, SchoolRecord
from datacenter.core.settings import Settings
from tests.dates import at
from tests.fakes import FakeAgents, FakeRuntime

UAIS = ("0750655E", "0750656F")


def order(uai: str) -> SchoolOrder:
    return SchoolOrder(
        uai, f"Lycée {uai}", "50", Responsable("Mme Martin", "0612345678", "m@ex.org")
    )


class World:
    def __init__(self, tmp_path: Path) -> None:
        self.settings = Settings(state_dir=tmp_path, address_pool="127.110.255.0/29")
        self.registry = Registry(self.settings.registry_path)
        self.clock = SimulatedClock(at("2026-09-01"))
        self.runtime = FakeRuntime()
        self.agents = FakeAgents()
        self.fleet = self.new_fleet()

    def new_fleet(self) -> Fleet:
        """A controller on the same state (as after a restart)."""
        pool = AddressPool(self.settings.address_pool, self.registry)
        return Fleet(self.settings, self.registry, pool, self.runtime, self.agents, self.clock)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    world = World(tmp_path)
    for uai in UAIS:
        asyncio.run(world.fleet.provision(order(uai)))
    yield world
    world.registry.close()


def test_a_dead_school_is_restarted_and_the_others_left_alone(world: World) -> None:
    victim, other = UAIS
    pids = dict(world.runtime.running)
    world.runtime.kill(victim)
    asyncio.run(world.fleet.reconcile())
    assert world.fleet.status(victim) is SchoolStatus.RUNNING
    assert world.fleet.pids[victim] == world.runtime.running[victim] != pids[victim]
    assert world.runtime.running[other] == pids[other]
    assert world.runtime.started.count(victim) == 2 and world.runtime.started.count(other) == 1
    assert world.fleet.reconcile_actions == {"adopted": 0, "restarted": 1, "failed": 0, "moved": 0}


def test_a_school_that_keeps_failing_is_retried_with_a_growing_backoff(world: World) -> None:
    """The backoff is real time (a frozen simulated clock must not stop the retries)."""
    victim = UAIS[0]
    now = [1000.0]
    world.fleet.monotonic = lambda: now[0]
    world.runtime.kill(victim)
    world.runtime.failing.add(victim)
    asyncio.run(world.fleet.reconcile())
    assert world.fleet.status(victim) is SchoolStatus.DOWN
    asyncio.run(world.fleet.reconcile())  # within its backoff: not tried again
    assert world.fleet.reconcile_actions["failed"] == 1
    now[0] += 1.0  # the first backoff is 1 s
    asyncio.run(world.fleet.reconcile(full=False))  # a DOWN school is polled, watched or not
    assert world.fleet.reconcile_actions["failed"] == 2
    now[0] += 1.0  # now 2 s: still waiting
    asyncio.run(world.fleet.reconcile())
    assert world.fleet.reconcile_actions["failed"] == 2
    world.runtime.failing.clear()
    now[0] += 1.0
    asyncio.run(world.fleet.reconcile())
    assert world.fleet.status(victim) is SchoolStatus.RUNNING
    assert world.fleet.reconcile_actions["restarted"] == 1


def test_a_restarted_controller_adopts_running_schools_without_starting_them(
    world: World,
) -> None:
    started = list(world.runtime.started)
    fleet = world.new_fleet()
    assert all(fleet.status(uai) is SchoolStatus.DOWN for uai in UAIS)  # not observed yet
    asyncio.run(fleet.reconcile())
    assert all(fleet.status(uai) is SchoolStatus.RUNNING for uai in UAIS)
    assert fleet.pids == world.runtime.running
    assert world.runtime.started == started  # nothing started twice
    assert fleet.reconcile_actions == {"adopted": 2, "restarted": 0, "failed": 0, "moved": 0}
    asyncio.run(fleet.reconcile())
    assert fleet.reconcile_actions["adopted"] == 2  # adopted once


def test_a_school_that_never_gets_healthy_leaves_nothing_behind(world: World) -> None:
    uai = "0750657G"
    world.agents.unhealthy.add(uai)
    with pytest.raises(Unavailable, match="health check") as refused:
        asyncio.run(world.fleet.provision(order(uai)))
    assert "last log lines" in str(refused.value)
    assert not world.registry.exists(uai)
    assert uai not in world.runtime.running and uai in world.runtime.removed
    assert not (world.settings.schools_dir / uai).exists()
    assert world.fleet.status(uai) is SchoolStatus.DOWN
    world.agents.unhealthy.clear()  # its address was released: the school fits again
    assert asyncio.run(world.fleet.provision(order(uai))).record.uai == uai


# -- recovery after a crash (DESIGN decision 21) ------------------------------------------------


def test_an_unfinished_provisioning_is_undone_and_never_restarted(world: World) -> None:
    victim, other = UAIS
    with world.registry.transaction() as db:  # as a controller killed mid-provisioning left it
        world.registry.begin_intent(victim, "provision", world.clock.now(), db)
    fleet = world.new_fleet()
    asyncio.run(fleet.reconcile())  # the reconciler alone leaves it alone
    assert fleet.status(victim) is not SchoolStatus.RUNNING or victim in world.runtime.running
    actions = asyncio.run(fleet.recover())
    assert actions == [f"undid the provisioning of {victim}, interrupted by a controller stop"]
    assert not world.registry.exists(victim) and world.registry.exists(other)
    assert victim not in world.runtime.running
    assert world.registry.intents() == []
    asyncio.run(fleet.provision(order(victim)))  # and it can be provisioned again


def test_an_unfinished_removal_is_finished(world: World) -> None:
    victim, _ = UAIS
    with world.registry.transaction() as db:
        world.registry.begin_intent(victim, "remove", world.clock.now(), db)
    actions = asyncio.run(world.new_fleet().recover())
    assert actions == [f"finished the removal of {victim}, interrupted by a controller stop"]
    assert not world.registry.exists(victim)


def test_orphan_directories_and_temp_files_are_removed_at_recovery(world: World) -> None:
    schools = world.settings.schools_dir
    (schools / "0750999Z" / "data").mkdir(parents=True)
    leftover = schools / UAIS[0] / ".agent.json.k2j4x9ab.tmp"
    leftover.write_text("{")
    actions = asyncio.run(world.new_fleet().recover())
    assert not (schools / "0750999Z").exists() and not leftover.exists()
    assert (schools / UAIS[0]).exists()
    assert any("0750999Z" in action for action in actions)


def test_the_lease_follows_a_school_the_runtime_moved_and_no_two_schools_share_one(
    world: World,
) -> None:
    """swarm://: Swarm chooses a task's address; when it moves a school to another node the
    registry follows, and a school still recorded at that address takes the old one."""
    first, second = UAIS
    old_first = world.registry.get(first).address
    old_second = world.registry.get(second).address
    world.runtime.placed[first] = (old_first, "node1")  # where it first ran
    asyncio.run(world.fleet.reconcile())
    assert world.fleet.reconcile_actions["moved"] == 0
    world.runtime.placed[first] = (old_second, "node2")  # Swarm reused the second's address
    asyncio.run(world.fleet.reconcile())
    assert world.registry.get(first).address == old_second
    assert world.registry.get(second).address == old_first  # swapped, until observed
    assert world.fleet.nodes[first] == "node2"
    assert world.fleet.reconcile_actions["moved"] == 1
    assert first in world.agents.forgotten  # no channel to the old address
    world.runtime.placed[second] = ("127.110.255.6", "node1")
    asyncio.run(world.fleet.reconcile())
    assert world.registry.addresses() == {first: old_second, second: "127.110.255.6"}
    assert world.fleet.reconcile_actions["moved"] == 1  # the second's first placement is none


# -- dead schools noticed by an event (DESIGN decision 31) --------------------------------------


def test_a_dead_school_is_restarted_on_its_stop_event_without_any_pass(world: World) -> None:
    victim, other = UAIS

    async def kill_and_wait() -> None:
        fleet = world.new_fleet()
        await fleet.reconcile()  # adopts, and watches, both
        assert fleet.watched == set(UAIS)
        world.runtime.kill(victim)
        for _ in range(200):  # the config is written in a thread: a few loop turns
            await asyncio.sleep(0.01)
            if fleet.reconcile_actions["restarted"]:
                break
        assert fleet.status(victim) is SchoolStatus.RUNNING
        assert fleet.reconcile_actions["restarted"] == 1
        assert fleet.watched == set(UAIS)  # the new server is watched in its turn
        await fleet.reconcile(full=False)  # every school watched: the frequent pass looks at none
        await fleet.close()

    asyncio.run(kill_and_wait())
    assert world.runtime.started.count(other) == 1


def test_a_school_that_fails_to_restart_is_retried_by_a_timer(world: World) -> None:
    victim = UAIS[0]

    async def kill_and_wait() -> None:
        fleet = world.new_fleet()
        await fleet.reconcile()
        world.runtime.failing.add(victim)
        world.runtime.kill(victim)
        for _ in range(200):
            await asyncio.sleep(0.01)
            if fleet.reconcile_actions["failed"]:
                break
        assert fleet.status(victim) is SchoolStatus.DOWN and fleet.unwatched()
        world.runtime.failing.clear()
        await asyncio.sleep(1.0)  # the first backoff (1 s) passes: its timer restarts it
        for _ in range(200):
            await asyncio.sleep(0.01)
            if fleet.reconcile_actions["restarted"]:
                break
        assert fleet.status(victim) is SchoolStatus.RUNNING
        assert fleet.reconcile_actions == {"adopted": 2, "restarted": 1, "failed": 1, "moved": 0}
        await fleet.close()

    asyncio.run(kill_and_wait())


def test_schools_a_runtime_cannot_watch_are_left_to_the_passes(world: World) -> None:
    world.runtime.watchable = False
    fleet = world.new_fleet()
    asyncio.run(fleet.reconcile())
    assert fleet.watched == set() and fleet.unwatched()
    world.runtime.kill(UAIS[0])
    asyncio.run(fleet.reconcile(full=False))
    assert fleet.reconcile_actions["restarted"] == 1


# -- what a review of the merged events, retries and restarts found ----------------------------


class SlowHealth(FakeAgents):
    async def wait_healthy(self, record: SchoolRecord, timeout_seconds: float) -> None:
        raise TimedOut(f"school {record.uai} did not answer its health check within 1 s")


def test_a_health_check_timeout_is_retried_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DESIGN 30: a start, a health check or a call that times out is started afresh once.
    docker:// and swarm:// schools time out in the health check (no readiness pipe)."""
    monkeypatch.setattr(fleet_module, "PROVISION_RETRY_PAUSE_SECONDS", 0.0)
    world = World(tmp_path)
    world.runtime = FakeRuntime(start_waits_for_ready=False)
    world.agents = SlowHealth()
    with pytest.raises(TimedOut, match="timed out 2 times"):
        asyncio.run(world.new_fleet().provision(order(UAIS[0])))
    assert world.runtime.started.count(UAIS[0]) == 2
    assert not world.registry.exists(UAIS[0])


def test_a_school_removed_while_its_restart_waits_is_not_started_again(tmp_path: Path) -> None:
    """A death's restart waits its turn behind other restarts; the operator removes the school
    meanwhile: no server is started for a school that has no row and no address."""
    world = World(tmp_path)
    fleet = world.new_fleet()
    uai = UAIS[0]

    async def scenario() -> None:
        await fleet.provision(order(uai))
        for _ in range(world.settings.provision_parallelism):
            await fleet._restarts.acquire()  # every restart slot is taken
        world.runtime.kill(uai)  # its death event
        for _ in range(5):
            await asyncio.sleep(0)  # its restart now waits for a slot
        await fleet.deprovision(uai)
        fleet._restarts.release()
        await asyncio.sleep(0.05)

    asyncio.run(scenario())
    assert not world.registry.exists(uai)
    assert uai not in world.runtime.running
    assert world.runtime.started.count(uai) == 1
