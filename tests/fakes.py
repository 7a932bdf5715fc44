"""Fakes at the project's own seams, for unit tests of the core (the fleet, the scheduler).

`FakeRuntime` implements `provisioning.runtime.Runtime` and `FakeAgents` the core's
`AgentGateway` (datacenter/core/gateway.py), in memory: nothing is forked, no socket is
opened. They record what the core asked, and can be told to fail, so a test drives
reconciliation, adoption, the scheduler and the yearly cycle in milliseconds. The real ones
are tested through real processes (tests/integration, tests/contract).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from common.backup_plan import Due
from datacenter.core.errors import Unavailable
from datacenter.core.gateway import BackupsMade, SimulatedTime, YearSwitched
from datacenter.core.registry import SchoolRecord
from provisioning.runtime import Observed, OnStop, RuntimeFailure, SchoolSpec, StartFailed


class FakeRuntime:
    """School servers as entries of a dict: `kill` one, make the next starts fail."""

    url = "fake://"

    def __init__(self, start_waits_for_ready: bool = False) -> None:
        self.start_waits_for_ready = start_waits_for_ready
        self.moves_schools = False
        self.populates_before_start = False
        self.merges_pages = False
        self.running: dict[str, int] = {}  # uai -> pid
        self.started: list[str] = []
        self.removed: list[str] = []
        self.failing: set[str] = set()  # schools whose start fails
        # Where the runtime placed a school, as swarm:// does (uai -> (address, node)).
        self.placed: dict[str, tuple[str, str]] = {}
        self._next_pid = 1000
        self.watchable = True  # False: a runtime with no stop event (swarm://)
        self.watches: dict[str, OnStop] = {}

    def kill(self, uai: str) -> None:
        """The school's server dies: its watcher hears of it (on the running loop, if any)."""
        del self.running[uai]
        on_stop = self.watches.pop(uai, None)
        if on_stop is not None:
            with contextlib.suppress(RuntimeError):  # no loop runs: only a pass will see it
                asyncio.get_running_loop().call_soon(on_stop, uai)

    def watch(self, spec: SchoolSpec, on_stop: OnStop) -> bool:
        if not self.watchable:
            return False
        self.watches[spec.uai] = on_stop
        if spec.uai not in self.running:
            asyncio.get_running_loop().call_soon(self.kill_watch, spec.uai)
        return True

    def kill_watch(self, uai: str) -> None:
        on_stop = self.watches.pop(uai, None)
        if on_stop is not None:
            on_stop(uai)

    async def prepare(self, pool: str) -> frozenset[str]:
        return frozenset()

    async def start(self, spec: SchoolSpec, timeout_seconds: float) -> int:
        if spec.uai in self.failing:
            raise StartFailed(f"school {spec.uai} did not start", [f"{spec.uai}: port taken"])
        self._next_pid += 1
        self.running[spec.uai] = self._next_pid
        self.started.append(spec.uai)
        return self._next_pid

    async def populate_before_start(
        self, spec: SchoolSpec, request: bytes, timeout_seconds: float
    ) -> bytes:
        raise RuntimeFailure(f"{self.url} populates a demo school once it is started")

    async def stop(self, spec: SchoolSpec) -> None:
        self.watches.pop(spec.uai, None)
        self.running.pop(spec.uai, None)

    async def remove(self, spec: SchoolSpec) -> None:
        self.watches.pop(spec.uai, None)
        self.running.pop(spec.uai, None)
        self.removed.append(spec.uai)

    def mark_pages(self, spec: SchoolSpec) -> bool:
        return spec.uai in self.running

    async def observe(self, spec: SchoolSpec) -> Observed:
        pid = self.running.get(spec.uai)
        address, node = self.placed.get(spec.uai, (None, None))
        return Observed(running=pid is not None, pid=pid, address=address, node=node)

    def log_tail(self, spec: SchoolSpec, lines: int = 20) -> list[str]:
        return [f"{spec.uai}: last line"][-lines:]

    async def close(self) -> None:
        return None


@dataclass
class FakeAgents:
    """School agents that answer at once; `refusing` ones answer Unavailable."""

    unhealthy: set[str] = field(default_factory=set)
    refusing: set[str] = field(default_factory=set)
    times: list[tuple[str, SimulatedTime]] = field(default_factory=list)
    backups: dict[str, list[Due]] = field(default_factory=dict)
    switches: list[tuple[str, str, float, bool]] = field(default_factory=list)
    forgotten: list[str] = field(default_factory=list)
    in_service: dict[str, str] = field(default_factory=dict)  # uai -> school year in service

    def _answer(self, record: SchoolRecord) -> None:
        if record.uai in self.refusing:
            raise Unavailable(f"school {record.uai} refused")

    async def wait_healthy(self, record: SchoolRecord, timeout_seconds: float) -> None:
        if record.uai in self.unhealthy:
            raise Unavailable(f"school {record.uai} did not answer its health check")

    async def forget(self, uai: str) -> None:
        self.forgotten.append(uai)

    async def set_clock(self, record: SchoolRecord, simulated: SimulatedTime) -> None:
        self._answer(record)
        self.times.append((record.uai, simulated))

    async def make_backups(
        self, record: SchoolRecord, due: Sequence[Due], simulated: SimulatedTime | None
    ) -> BackupsMade:
        self._answer(record)
        if simulated is not None:
            self.times.append((record.uai, simulated))
        self.backups.setdefault(record.uai, []).extend(due)
        return BackupsMade(skipped=False, files_written=len(due))

    async def switch_year(
        self, record: SchoolRecord, school_year: str, at_seconds: float, keep_in_service: bool
    ) -> YearSwitched:
        self._answer(record)
        self.switches.append((record.uai, school_year, at_seconds, keep_in_service))
        if keep_in_service:
            return YearSwitched("kept", "kept in service", f"Base année {self.year_of(record)}")
        self.in_service[record.uai] = school_year
        return YearSwitched("new_base", "empty base put in service", f"Base année {school_year}")

    def year_of(self, record: SchoolRecord) -> str:
        return self.in_service.get(record.uai, "")
