"""The Clock and the work it schedules (issue 4, points 3 and 4).

The controller's clock is the data-center's only time source: real by default, or simulated
(`PRONOTE_DC_CLOCK=simulated`, a start date and a speed factor), moved by "advance the clock
to <date>". The scheduler asks each serving school for the backups and archives due since its
last pass, in order, with their times on that clock; when the clock is simulated it first
pushes the simulated time to the school (Agent.SetClock), so what the school dates itself
(backups, suspensions, idle sessions) follows the same time.

Passes are not polled (DESIGN decision 31): `forever` sleeps until the next moment something
may be due (a 2-hour slot, 04:33, a switch's 03:00), converted to real seconds at the clock's
speed (a frozen simulated clock: until woken), and is woken early when a school that missed
a pass starts again or the clock is advanced; a school whose pass failed is tried again after
the retry interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from common import backup_plan
from common.backup_plan import Kind
from common.clock import Clock, SimulatedClock, SystemClock
from common.faults import fault_point
from common.files import read_json, write_json_atomically
from datacenter.core import year_cycle
from datacenter.core.errors import InvalidArgument, Unavailable, WrongState
from datacenter.core.fleet import Fleet, SchoolStatus
from datacenter.core.gateway import AgentGateway, SimulatedTime
from datacenter.core.registry import SchoolRecord
from datacenter.core.settings import Settings
from datacenter.core.year_cycle import YearCycle

log = logging.getLogger("datacenter.core.scheduler")
T = TypeVar("T")
PARALLEL_SCHOOLS = 16
# One school's agent call in a pass (its backups, its switch): past this it is reported as not
# done and caught up at the next pass, and the pass goes on with the others (issue 12, point 7).
SCHOOL_CALL_TIMEOUT_SECONDS = 60.0
# The longest sleep on a real clock: a wall clock stepped (NTP) is noticed within this.
MAX_SLEEP_SECONDS = 300.0


def clock_from_settings(settings: Settings) -> Clock:
    if settings.clock == "real":
        return SystemClock()
    if settings.clock != "simulated":
        raise InvalidArgument(
            f"PRONOTE_DC_CLOCK={settings.clock!r}: choose real (the default) or simulated"
        )
    if settings.clock_speed < 0:
        raise InvalidArgument("the clock speed is a factor of 0 (frozen) or more")
    start = parse_date(settings.clock_start) if settings.clock_start else SystemClock().now()
    with contextlib.suppress(FileNotFoundError, ValueError, KeyError, TypeError):
        # a restarted controller goes on from where its simulated clock was: time never goes back
        start = max(start, float(read_json(clock_file(settings))["now_seconds"]))
    return SimulatedClock(start, settings.clock_speed)


def clock_file(settings: Settings) -> Path:
    return settings.state_dir / "clock.json"


def parse_date(text: str) -> float:
    """'2026-09-01' or '2026-09-01T08:00' (UTC) -> Unix seconds."""
    try:
        when = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidArgument(
            f"{text!r} is not a date: write it as 2026-09-01 or 2026-09-01T08:00 (UTC)"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return when.timestamp()


@dataclass
class Summary:
    """What one scheduler pass did."""

    schools: int = 0
    backups_due: int = 0
    archives_due: int = 0
    written: int = 0
    switches: int = 0
    not_done: list[str] = field(default_factory=list)  # "UAI: why", caught up next pass

    def add(self, other: Summary) -> None:
        self.switches += other.switches
        self.schools += other.schools
        self.backups_due += other.backups_due
        self.archives_due += other.archives_due
        self.written += other.written
        self.not_done += other.not_done


class Scheduler:
    def __init__(
        self,
        fleet: Fleet,
        agents: AgentGateway,
        clock: Clock,
        saved_clock: Path | None = None,
        year_cycle: YearCycle | None = None,
    ) -> None:
        self._fleet = fleet
        self.year_cycle = year_cycle
        self._saved_clock = saved_clock
        self._agents = agents
        self.clock = clock
        # Persisted (issue 12, point 2): a pass a crash or a stopped controller interrupted is
        # caught up from here, never skipped.
        self._last_run: dict[str, float] = fleet.registry.last_runs()
        self._pushed: dict[str, int] = {}  # uai -> pid that has our simulated time
        self._lock = asyncio.Lock()
        self.totals = Summary()
        # Awaited after a school made backups (swarm://: they are copied off its node).
        self.backup_listeners: list[Callable[[SchoolRecord], Awaitable[None]]] = []
        fleet.start_hooks.append(self.push_clock)
        fleet.start_hooks.append(self._catch_up_soon)
        self._woken = asyncio.Event()
        self._pass_wanted = False
        self._retry_wanted = True  # the first pass catches up what a stopped controller missed
        self.passes = 0  # how many passes ran (what an idle fleet must keep at zero)
        self._last_pass_at = float("-inf")

    async def push_clock(self, record: SchoolRecord) -> None:
        """Give a school that just started the simulated time, before anything is dated."""
        if not self.simulated:
            return
        try:
            await self._agents.set_clock(record, SimulatedTime(self.clock.now(), self.speed))
        except Unavailable as error:  # a refusal the fleet knows how to undo (a TimedOut
            raise type(error)(  # stays one: provisioning retries it)
                f"school {record.uai} did not take the simulated time ({error}); retry"
            ) from error
        self._pushed[record.uai] = self._fleet.pids.get(record.uai, 0)

    @property
    def simulated(self) -> bool:
        return isinstance(self.clock, SimulatedClock)

    @property
    def speed(self) -> float:
        return self.clock.speed if isinstance(self.clock, SimulatedClock) else 1.0

    async def advance_to(self, seconds: float) -> Summary:
        if not isinstance(self.clock, SimulatedClock):
            raise WrongState(
                "the clock is real and cannot be advanced; start the controller with "
                "PRONOTE_DC_CLOCK=simulated"
            )
        async with self._lock:
            try:
                self.clock.advance_to(seconds)
            except ValueError as error:
                raise InvalidArgument(str(error)) from None
            self._pushed.clear()  # every school gets the new time
            self.save_clock()  # safe first: each school's last pass is saved (point 2)
            fault_point("advance.clock_saved")
            summary = await self._pass()
            self._retry_wanted = bool(summary.not_done)
            self._woken.set()  # `forever` sleeps until the new next due time
            return summary

    def save_clock(self) -> None:
        if self.simulated and self._saved_clock is not None:
            write_json_atomically(self._saved_clock, {"now_seconds": self.clock.now()})

    async def run_due(self) -> Summary:
        async with self._lock:
            return await self._pass()

    async def _catch_up_soon(self, record: SchoolRecord) -> None:
        """A school (re)started: if a pass went by while it was down, one runs now for it."""
        last = self._last_run.get(record.uai, record.created_at)
        if self._next_due_after(last) <= self.clock.now():
            self._pass_wanted = True
            self._woken.set()

    def _next_due_after(self, seconds: float) -> float:
        due = backup_plan.next_due_after(seconds)
        if self.year_cycle is not None:
            due = min(due, year_cycle.next_switch_after(seconds))
        return due

    def _sleep_seconds(self, now: float, retry_seconds: float) -> float | None:
        """Real seconds until the next due moment (None: only a wake-up will do)."""
        if self._pass_wanted:
            return 0.0
        if self.simulated:
            sleep = (self._next_due_after(now) - now) / self.speed if self.speed > 0 else None
        else:
            sleep = min(self._next_due_after(now) - now, MAX_SLEEP_SECONDS)
        if self._retry_wanted:
            sleep = retry_seconds if sleep is None else min(sleep, retry_seconds)
        return None if sleep is None else max(0.0, sleep)

    async def forever(self, retry_seconds: float) -> None:
        """Pass at the due times, never in between (see the module's docstring). The first
        pass, which catches up what a stopped controller missed, is a retry: it comes
        `retry_seconds` after the start (or at the first due time, if sooner), as every pass
        did before (a test that sets an hour gets none until it advances the clock)."""
        while True:
            now = self.clock.now()
            due = self._next_due_after(now)
            self._woken.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), self._sleep_seconds(now, retry_seconds))
            reached = self._last_pass_at < due <= self.clock.now()  # not by an advance's pass
            if not (self._pass_wanted or self._retry_wanted or reached):
                continue  # woken to sleep again, for a new time (an advance)
            self._pass_wanted = False
            try:
                summary = await self.run_due()
                self._retry_wanted = bool(summary.not_done)
            except Exception:
                self._retry_wanted = True
                log.exception("scheduler pass failed")

    async def _pass(self) -> Summary:
        self.passes += 1
        now = self._last_pass_at = self.clock.now()
        limit = asyncio.Semaphore(PARALLEL_SCHOOLS)
        records = [
            r
            for r in self._fleet.registry.all()
            if self._fleet.status(r.uai) is SchoolStatus.RUNNING
        ]
        summaries = await asyncio.gather(*(self._school(r, now, limit) for r in records))
        total = Summary()
        for summary in summaries:
            total.add(summary)
        self.totals.add(replace(total, not_done=[]))  # the totals keep counts only
        return total

    async def _school(self, record: SchoolRecord, now: float, limit: asyncio.Semaphore) -> Summary:
        async with limit:
            try:
                pid = self._fleet.pids.get(record.uai, 0)
                needs_clock = self.simulated and self._pushed.get(record.uai) != pid
                last = self._last_run.get(record.uai, record.created_at)
                due = backup_plan.due_between(last, now)
                switches = (
                    self.year_cycle.due_between(record.uai, last, now) if self.year_cycle else []
                )
                summary = Summary(schools=1)
                for part, switch in year_cycle.split(due, switches):
                    if part or needs_clock:  # the clock rides with the backups: one call
                        time = SimulatedTime(now, self.speed) if needs_clock else None
                        reply = await _bounded(
                            record, self._agents.make_backups(record, part, time)
                        )
                        fault_point("scheduler.backups_made")
                        if needs_clock:
                            self._pushed[record.uai], needs_clock = pid, False
                        if not reply.skipped and part:
                            for listener in self.backup_listeners:
                                await listener(record)
                        if not reply.skipped:
                            backups = sum(d.kind is Kind.SAUVEGARDE for d in part)
                            summary.backups_due += backups
                            summary.archives_due += len(part) - backups
                            summary.written += reply.files_written
                    if switch is not None:
                        await _bounded(record, self._switch(record, switch))
                        summary.switches += 1
                if due or switches:  # nothing due: (last, now] holds nothing to remember
                    self._fleet.registry.set_last_run(record.uai, now)
                    self._last_run[record.uai] = now
                fault_point("scheduler.school_done")
                return summary
            except Unavailable as error:  # made/switched at the next pass, in order
                log.warning("backups of %s not made now: %s", record.uai, error)
                self._pushed.pop(record.uai, None)
                return Summary(not_done=[f"{record.uai}: {error}"])

    async def _switch(self, record: SchoolRecord, switch: year_cycle.DueSwitch) -> None:
        """The version switch of one school (DOMAIN.md "Yearly cycle"), recorded once done."""
        assert self.year_cycle is not None
        reply = await self._agents.switch_year(
            record, switch.school_year, switch.at_seconds, switch.keep_in_service
        )
        self.year_cycle.record_switch(
            record.uai, switch, reply.outcome, reply.detail, reply.base_name
        )
        log.info("%s switched to %s: %s", record.uai, switch.school_year, reply.outcome)


async def _bounded(record: SchoolRecord, call: Awaitable[T]) -> T:
    """One school's call, bounded in time: a hung school is reported, not waited for."""
    try:
        return await asyncio.wait_for(call, SCHOOL_CALL_TIMEOUT_SECONDS)
    except TimeoutError:
        raise Unavailable(
            f"school {record.uai} did not answer within {SCHOOL_CALL_TIMEOUT_SECONDS:.0f} s"
        ) from None
