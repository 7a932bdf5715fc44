"""What the core asks of a school's agent, in plain Python (DESIGN decision 10).

`AgentGateway` is the seam between the core (fleet, scheduler) and a school's management API:
the gRPC client in datacenter/adapters/agents.py implements it, tests use a fake
(tests/fakes.py). A refusal or an agent that does not answer is `errors.Unavailable` (the
message says what happened; the core retries at its next pass).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from common.backup_plan import Due
from datacenter.core.registry import SchoolRecord


@dataclass(frozen=True)
class BackupsMade:
    """What a school did with the backups it was asked for (Agent.MakeBackups)."""

    skipped: bool  # nothing in service: nothing to save
    files_written: int  # files really written (an unchanged base's slot is re-dated instead)


@dataclass(frozen=True)
class YearSwitched:
    """The outcome of a version switch (Agent.SwitchYear): "new_base" or "kept"."""

    outcome: str
    detail: str
    base_name: str


@dataclass(frozen=True)
class SimulatedTime:
    """The data-center's simulated time, given to a school so it dates things on it."""

    now_seconds: float
    speed: float


# A demo population computed before the school's server starts (`Runtime.populate_before_start`,
# DESIGN decision 38): the agent's serialized PopulateDemoRequest in, its reply out.
PopulateBeforeStart = Callable[[bytes], Awaitable[bytes]]


class AgentGateway(Protocol):
    async def wait_healthy(self, record: SchoolRecord, timeout_seconds: float) -> None:
        """Return once the school answers its health check as SERVING; Unavailable after
        `timeout_seconds`."""
        ...

    async def forget(self, uai: str) -> None:
        """Drop what is kept to reach this school (its server restarted or was removed)."""
        ...

    async def set_clock(self, record: SchoolRecord, simulated: SimulatedTime) -> None:
        """Give the school the simulated time (Agent.SetClock)."""
        ...

    async def make_backups(
        self, record: SchoolRecord, due: Sequence[Due], simulated: SimulatedTime | None
    ) -> BackupsMade:
        """Make, in order, the backups and archives due; with `simulated`, set the school's
        clock first in the same call."""
        ...

    async def switch_year(
        self, record: SchoolRecord, school_year: str, at_seconds: float, keep_in_service: bool
    ) -> YearSwitched:
        """Switch the school to `school_year` (DOMAIN.md "Yearly cycle")."""
        ...
