"""The scheduler on the data-center's clock (DESIGN decision 6) and the yearly cycle it drives,
on fakes of the runtime and the agents: which backups each school is asked for, in order, when
the simulated time reaches it, and when each school switches year."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from common import backup_plan
from common.backup_plan import Kind
from datacenter.core import scheduler as scheduler_module
from datacenter.core.errors import Unavailable
from datacenter.core.fleet import SchoolStatus
from datacenter.core.registry import SchoolRecord
from datacenter.core.scheduler import Scheduler
from datacenter.core.year_cycle import YearCycle, automatic_day
from tests.dates import at
from tests.unit.test_fleet_reconcile import UAIS, World, order


class Cycle(World):
    def __init__(self, tmp_path: Path) -> None:
        super().__init__(tmp_path)
        self.year_cycle = YearCycle(tmp_path / "year_cycle.json")
        self.scheduler = Scheduler(
            self.fleet, self.agents, self.clock, tmp_path / "clock.json", self.year_cycle
        )


@pytest.fixture
def cycle(tmp_path: Path) -> Iterator[Cycle]:
    cycle = Cycle(tmp_path)
    for uai in UAIS:
        asyncio.run(cycle.fleet.provision(order(uai)))
    yield cycle
    cycle.registry.close()


def test_a_started_school_gets_the_simulated_time_first(cycle: Cycle) -> None:
    assert [uai for uai, _ in cycle.agents.times] == list(UAIS)
    assert all(t.now_seconds == at("2026-09-01") for _, t in cycle.agents.times)


def test_an_advance_asks_each_school_for_the_backups_due_in_order(cycle: Cycle) -> None:
    start = cycle.clock.now()
    summary = asyncio.run(cycle.scheduler.advance_to(at("2026-09-03")))
    due = backup_plan.due_between(start, at("2026-09-03"))
    assert due and all(cycle.agents.backups[uai] == due for uai in UAIS)
    sauvegardes = sum(d.kind is Kind.SAUVEGARDE for d in due)
    assert (summary.schools, summary.backups_due, summary.archives_due) == (
        2,
        2 * sauvegardes,
        2 * (len(due) - sauvegardes),
    )
    assert summary.written == 2 * len(due)
    assert (cycle.settings.state_dir / "clock.json").exists()  # a restart goes on from here
    asyncio.run(cycle.scheduler.run_due())  # nothing new is due at the same time
    assert all(cycle.agents.backups[uai] == due for uai in UAIS)


def test_a_school_that_refuses_gets_the_same_backups_at_the_next_pass(cycle: Cycle) -> None:
    refusing, other = UAIS
    start = cycle.clock.now()
    cycle.agents.refusing.add(refusing)
    summary = asyncio.run(cycle.scheduler.advance_to(at("2026-09-02")))
    assert summary.schools == 1 and refusing not in cycle.agents.backups
    cycle.agents.refusing.clear()
    asyncio.run(cycle.scheduler.run_due())
    assert cycle.agents.backups[refusing] == backup_plan.due_between(start, at("2026-09-02"))
    assert cycle.agents.backups[refusing] == cycle.agents.backups[other]


def test_only_running_schools_are_asked(cycle: Cycle) -> None:
    down = UAIS[0]
    cycle.fleet.statuses[down] = SchoolStatus.DOWN
    asyncio.run(cycle.scheduler.advance_to(at("2026-09-02")))
    assert down not in cycle.agents.backups and UAIS[1] in cycle.agents.backups


def test_a_simulated_time_refused_at_start_is_unavailable(cycle: Cycle) -> None:
    cycle.agents.refusing.add(UAIS[0])
    record = cycle.registry.get(UAIS[0])
    with pytest.raises(Unavailable, match="did not take the simulated time"):
        asyncio.run(cycle.scheduler.push_clock(record))


def test_each_school_switches_once_on_its_own_august_day(cycle: Cycle) -> None:
    asyncio.run(cycle.scheduler.advance_to(at("2027-08-20")))
    assert cycle.agents.switches == []
    asyncio.run(cycle.scheduler.advance_to(at("2027-08-25")))
    switched = {uai: (year, when) for uai, year, when, _keep in cycle.agents.switches}
    assert set(switched) == set(UAIS) and len(cycle.agents.switches) == 2
    for uai, (year, when) in switched.items():
        day = automatic_day(uai, 2027)
        assert year == "2027-2028"
        assert datetime.datetime.fromtimestamp(when, tz=datetime.UTC).date() == day
        assert cycle.year_cycle.view(uai, 2027)["outcome"] == "new_base"
        made = cycle.agents.backups[uai]
        before = [d for d in made if d.at_seconds < when]  # named after last year's base
        assert before == sorted(before, key=lambda d: d.at_seconds)
    asyncio.run(cycle.scheduler.advance_to(at("2027-09-30")))
    assert len(cycle.agents.switches) == 2  # never twice


def test_a_deferred_switch_keeping_the_base_happens_on_its_date(cycle: Cycle) -> None:
    uai = UAIS[0]
    asyncio.run(cycle.scheduler.advance_to(at("2027-08-01")))
    cycle.year_cycle.defer(uai, cycle.clock.now(), "2027-09-03", True)
    asyncio.run(cycle.scheduler.advance_to(at("2027-09-02")))
    assert [s for s in cycle.agents.switches if s[0] == uai] == []
    asyncio.run(cycle.scheduler.advance_to(at("2027-09-04")))
    ((_, year, when, keep),) = [s for s in cycle.agents.switches if s[0] == uai]
    assert (year, keep) == ("2027-2028", True)
    assert datetime.datetime.fromtimestamp(when, tz=datetime.UTC).date().isoformat() == "2027-09-03"
    assert cycle.year_cycle.view(uai, 2027)["outcome"] == "kept"


# -- issue 12: a hung school is reported, not waited for; a dead pass is caught up -------------


def test_a_hung_school_is_reported_and_the_others_get_their_backups(
    cycle: Cycle, monkeypatch: pytest.MonkeyPatch
) -> None:
    hung, other = UAIS
    monkeypatch.setattr(scheduler_module, "SCHOOL_CALL_TIMEOUT_SECONDS", 0.2)
    answer = cycle.agents.make_backups

    async def hang(record: SchoolRecord, due: Any, simulated: Any) -> Any:
        if record.uai == hung:
            await asyncio.sleep(3600)
        return await answer(record, due, simulated)

    monkeypatch.setattr(cycle.agents, "make_backups", hang)
    summary = asyncio.run(cycle.scheduler.advance_to(at("2026-09-02")))
    assert [line.split(":")[0] for line in summary.not_done] == [hung]
    assert "did not answer within" in summary.not_done[0]
    assert cycle.agents.backups[other]
    monkeypatch.setattr(cycle.agents, "make_backups", answer)
    asyncio.run(cycle.scheduler.run_due())  # the next pass catches the hung one up, in order
    assert cycle.agents.backups[hung] == backup_plan.due_between(at("2026-09-01"), at("2026-09-02"))


def test_a_period_a_dead_controller_never_passed_over_is_caught_up_after_restart(
    cycle: Cycle,
) -> None:
    """The clock moved (saved, or real time went on) but the controller died before its pass:
    the restarted one makes every backup due since each school's last pass."""
    asyncio.run(cycle.scheduler.advance_to(at("2026-09-02")))
    cycle.clock.advance_to(at("2026-09-04"))  # then killed before the pass
    cycle.agents.backups.clear()
    restarted = Scheduler(cycle.fleet, cycle.agents, cycle.clock, None, cycle.year_cycle)
    asyncio.run(restarted.run_due())
    due = backup_plan.due_between(at("2026-09-02"), at("2026-09-04"))
    assert all(cycle.agents.backups[uai] == due for uai in UAIS)


# -- passes at the due times, not polled (DESIGN decision 31) ----------------------------------


def test_an_idle_fleet_on_a_frozen_clock_gets_one_catch_up_pass_and_no_other(
    cycle: Cycle,
) -> None:
    async def idle() -> None:
        task = asyncio.create_task(cycle.scheduler.forever(0.2))
        await asyncio.sleep(0.1)
        assert cycle.scheduler.passes == 0  # the first one comes one interval after the start
        await asyncio.sleep(0.4)
        assert cycle.scheduler.passes == 1  # and catches up what a stopped controller missed
        await cycle.scheduler.advance_to(at("2026-09-01T02:00"))  # its own pass, then asleep
        await asyncio.sleep(0.3)
        assert cycle.scheduler.passes == 2
        task.cancel()

    asyncio.run(idle())
    assert all(d.at_seconds == at("2026-09-01T02:00") for d in cycle.agents.backups[UAIS[0]])


def test_a_moving_clock_wakes_the_scheduler_at_the_due_slot_only(cycle: Cycle) -> None:
    from common.clock import SimulatedClock

    clock = SimulatedClock(at("2026-09-01T01:59:59.7"), speed=1.0)
    scheduler = Scheduler(cycle.fleet, cycle.agents, clock)
    scheduler._retry_wanted = False  # as after the first pass: the test watches the slot's

    async def run() -> None:
        task = asyncio.create_task(scheduler.forever(60))
        await asyncio.sleep(0.1)
        assert scheduler.passes == 0  # 02:00 is not reached yet: asleep, not polling
        await asyncio.sleep(0.6)
        assert scheduler.passes == 1  # woken at 02:00 (the next due moment is 04:00)
        await asyncio.sleep(0.3)
        assert scheduler.passes == 1
        task.cancel()

    asyncio.run(run())
    assert [d.at_seconds for d in cycle.agents.backups[UAIS[0]]] == [at("2026-09-01T02:00")]


def test_a_school_that_was_down_at_a_due_slot_is_caught_up_when_it_starts(cycle: Cycle) -> None:
    victim, other = UAIS

    async def run() -> None:
        task = asyncio.create_task(cycle.scheduler.forever(60))
        await asyncio.sleep(0.05)
        cycle.fleet.statuses[victim] = SchoolStatus.DOWN  # as while it restarts
        await cycle.scheduler.advance_to(at("2026-09-01T02:00"))
        assert victim not in cycle.agents.backups and other in cycle.agents.backups
        passes = cycle.scheduler.passes
        await cycle.fleet.reconcile()  # it runs again (adopted): nothing is due for it yet
        cycle.runtime.kill(victim)
        await cycle.fleet.reconcile()  # restarted: its start hook wakes the scheduler
        await asyncio.sleep(0.2)
        assert cycle.scheduler.passes == passes + 1
        task.cancel()

    asyncio.run(run())
    assert [d.at_seconds for d in cycle.agents.backups[victim]] == [at("2026-09-01T02:00")]
