"""The yearly cycle on the data-center's clock (DOMAIN.md "Yearly cycle", seed 001, seed 004
Fiche 12): which day each school switches to the new version, the pre-version window,
deferrals, and what each switch did. Rules in plain Python, choices kept in a JSON file of
the state directory (`year_cycle.json`), each change since appended to `year_cycle.journal`
(a JSON line, fdatasynced, folded into the file at the next start): a switch costs one short
append whatever the fleet's size, not a rewrite of every school's cycle (DESIGN decision 36).
All dates are UTC.

- the automatic switch happens between 21 and 24 August, at 03:00 (before that day's
  archive), on a day fixed per school by its UAI;
- the pre-version can be requested from 6 July (when it is published, after the 5 July
  year-end archive) until 20 July; it is installed at once;
- the switch can be deferred to a date from 21 August to 30 September (the rentrée window),
  never in the past, with a new empty base or keeping the base in service.
A cycle runs from 1 October to 30 September: its switch is the one of that August.
"""

from __future__ import annotations

import contextlib
import datetime
import enum
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from common import backup_plan
from common.backup_plan import Due
from common.files import fsync_directory, read_json, write_json_atomically
from datacenter.core.errors import InvalidArgument, WrongState

SWITCH_FIRST_DAY = datetime.date(2000, 8, 21)  # month and day only
SWITCH_DAYS = 4  # 21, 22, 23, 24 August
SWITCH_TIME = datetime.time(3, 0)
PREVERSION_FROM = (7, 6)
PREVERSION_UNTIL = (7, 20)
DEFER_FROM = (8, 21)
DEFER_UNTIL = (9, 30)
JOURNAL_SUFFIX = ".journal"
# The journal is folded into the file once it holds this many lines more than there are
# cycles (a rewrite per so many appends: O(1) per change, amortized).
JOURNAL_SLACK = 1024
_UTC = datetime.UTC


class Choice(enum.Enum):
    AUTOMATIC = "automatic"
    DEFERRED_NEW_BASE = "deferred_new_base"
    DEFERRED_KEEP_BASE = "deferred_keep_base"
    PREVERSION = "preversion"


def day_of(seconds: float) -> datetime.date:
    return datetime.datetime.fromtimestamp(seconds, tz=_UTC).date()


def at(day: datetime.date) -> float:
    """The moment a switch due on `day` happens."""
    return datetime.datetime.combine(day, SWITCH_TIME, tzinfo=_UTC).timestamp()


def next_switch_after(after_seconds: float) -> float:
    """The first moment after `after_seconds` a switch may be due: any school's switch (its
    August day, or the date it deferred to) happens at SWITCH_TIME of a day."""
    return backup_plan.next_daily_after(after_seconds, SWITCH_TIME)


def cycle_year(day: datetime.date) -> int:
    """The year of the August switch a day belongs to (cycles run 1 October - 30 September)."""
    return day.year if (day.month, day.day) <= DEFER_UNTIL else day.year + 1


def new_school_year(year: int) -> str:
    return f"{year}-{year + 1}"


def automatic_day(uai: str, year: int) -> datetime.date:
    """The school's day in 21-24 August: the same every year, spread over the fleet (a hash of
    the UAI: neighbouring UAIs, e.g. a département's, fall on different days)."""
    spread = hashlib.sha256(uai.encode("ascii", "replace")).digest()[0] % SWITCH_DAYS
    return datetime.date(year, SWITCH_FIRST_DAY.month, SWITCH_FIRST_DAY.day + spread)


def _on(year: int, month_day: tuple[int, int]) -> datetime.date:
    return datetime.date(year, *month_day)


@dataclass
class SchoolCycle:
    """One school's choices and outcome for one cycle year."""

    choice: Choice = Choice.AUTOMATIC
    deferred_to: str = ""
    preversion_on: str = ""
    preversion_outcome: str = ""
    outcome: str = ""
    outcome_detail: str = ""
    outcome_on: str = ""
    base: str = ""

    def switch_day(self, uai: str, year: int) -> datetime.date:
        if self.deferred_to:
            return datetime.date.fromisoformat(self.deferred_to)
        return automatic_day(uai, year)


@dataclass(frozen=True)
class DueSwitch:
    year: int
    at_seconds: float
    keep_in_service: bool

    @property
    def school_year(self) -> str:
        return new_school_year(self.year)


def split(due: list[Due], switches: list[DueSwitch]) -> list[tuple[list[Due], DueSwitch | None]]:
    """The backups due before each switch, the switch, then the rest: a backup is named after
    the base in service when it is made."""
    parts: list[tuple[list[Due], DueSwitch | None]] = []
    rest = due
    for switch in sorted(switches, key=lambda s: s.at_seconds):
        parts.append(([d for d in rest if d.at_seconds < switch.at_seconds], switch))
        rest = [d for d in rest if d.at_seconds >= switch.at_seconds]
    parts.append((rest, None))
    return parts


class YearCycle:
    """Every school's cycles, by cycle year, kept in `path` (year_cycle.json) and the journal
    beside it (year_cycle.journal). A change is durable when the call that made it returns;
    a controller killed during an append loses that change alone (its torn line is skipped
    when read). One instance per state directory, the controller's (it holds controller.lock):
    opening one folds the journal into the file."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._journal = path.with_suffix(JOURNAL_SUFFIX)
        self._journal_lines = 0
        self._cycles: dict[int, dict[str, SchoolCycle]] = {}
        try:
            saved = read_json(path)
        except FileNotFoundError:
            saved = {}
        for year, schools in saved.items():
            self._cycles[int(year)] = {uai: _cycle(c) for uai, c in schools.items()}
        if self._replay_journal():
            self._save()  # folded in: the next start reads one file

    def _replay_journal(self) -> int:
        """Apply the journal's whole lines in order; a torn or unreadable one (a controller
        killed while appending it) is skipped. Returns how many lines there were."""
        try:
            with open(self._journal, "rb") as journal:
                lines = journal.read().split(b"\n")
        except FileNotFoundError:
            return 0
        for line in lines[:-1]:  # the last part has no newline: empty, or a torn append
            with contextlib.suppress(ValueError, KeyError, TypeError, AttributeError):
                change = json.loads(line)
                if "forget" in change:
                    self._drop(str(change["forget"]))
                else:
                    cycle = _cycle(change["cycle"])
                    self._cycles.setdefault(int(change["year"]), {})[str(change["uai"])] = cycle
        return len(lines) - 1 + bool(lines[-1])

    def get(self, uai: str, year: int) -> SchoolCycle:
        return self._cycles.get(year, {}).get(uai, SchoolCycle())

    def _put(self, uai: str, year: int, cycle: SchoolCycle) -> None:
        self._cycles.setdefault(year, {})[uai] = cycle
        self._append({"year": year, "uai": uai, "cycle": _encoded(cycle)})

    def _append(self, change: dict[str, Any]) -> None:
        """One change at the journal's end, on disk before this returns; the whole file
        rewritten instead when the journal has grown past the cycles it describes."""
        cycles = sum(len(schools) for schools in self._cycles.values())
        if self._journal_lines >= cycles + JOURNAL_SLACK:
            self._save()
            return
        line = (json.dumps(change, ensure_ascii=False) + "\n").encode("utf-8")
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
        fd = os.open(self._journal, flags, 0o600)
        try:
            end = os.fstat(fd).st_size
            try:
                # one write: a process killed now leaves a torn last line
                if os.write(fd, line) != len(line):
                    raise OSError(f"{self._journal}: short write (disk full?)")
                os.fdatasync(fd)
            except BaseException:
                os.ftruncate(fd, end)  # a failed append leaves no torn line for the next one
                raise
        finally:
            os.close(fd)
        if end == 0:
            fsync_directory(self._path.parent)  # a new journal's name, as a rename's
        self._journal_lines += 1

    def _save(self) -> None:
        """Write every cycle to the file (atomically, synced), then drop the journal it now
        holds (a crash between the two replays the journal onto the same cycles: no change)."""
        data: dict[str, Any] = {
            str(year): {uai: _encoded(cycle) for uai, cycle in schools.items()}
            for year, schools in self._cycles.items()
        }
        write_json_atomically(self._path, data)
        self._journal.unlink(missing_ok=True)
        self._journal_lines = 0

    def _drop(self, uai: str) -> None:
        for schools in self._cycles.values():
            schools.pop(uai, None)

    def forget(self, uai: str) -> None:
        self._drop(uai)
        self._append({"forget": uai})

    def due_between(self, uai: str, after_seconds: float, until_seconds: float) -> list[DueSwitch]:
        """The switches of this school due in (after, until] not yet done."""
        due = []
        for year in range(day_of(after_seconds).year, day_of(until_seconds).year + 1):
            cycle = self.get(uai, year)
            if cycle.outcome:
                continue
            when = at(cycle.switch_day(uai, year))
            if after_seconds < when <= until_seconds:
                keep = cycle.choice is Choice.DEFERRED_KEEP_BASE
                due.append(DueSwitch(year, when, keep))
        return due

    def record_switch(
        self, uai: str, switch: DueSwitch, outcome: str, detail: str, base: str
    ) -> None:
        cycle = self.get(uai, switch.year)
        cycle.outcome, cycle.outcome_detail, cycle.base = outcome, detail, base
        cycle.outcome_on = day_of(switch.at_seconds).isoformat()
        self._put(uai, switch.year, cycle)

    def check_preversion(self, uai: str, now_seconds: float) -> int:
        """The cycle year a pre-version request made now is for; refuses outside the window."""
        today = day_of(now_seconds)
        year = cycle_year(today)
        first, last = _on(year, PREVERSION_FROM), _on(year, PREVERSION_UNTIL)
        cycle = self.get(uai, year)
        if cycle.outcome:
            raise WrongState(
                f"the switch to {new_school_year(year)} already happened on {cycle.outcome_on}"
            )
        if cycle.preversion_on:
            raise WrongState(f"the pre-version was already installed on {cycle.preversion_on}")
        if today < first:
            raise WrongState(
                f"the pre-version for {new_school_year(year)} is available from {first} "
                f"(today is {today}); request it between {first} and {last}"
            )
        if today > last:
            raise WrongState(
                f"pre-version requests closed on {last} (today is {today}); the switch to "
                f"{new_school_year(year)} happens on {cycle.switch_day(uai, year)}, or defer it"
            )
        return year

    def record_preversion(self, uai: str, year: int, now_seconds: float, outcome: str) -> None:
        cycle = self.get(uai, year)
        cycle.choice = Choice.PREVERSION
        cycle.preversion_on = day_of(now_seconds).isoformat()
        cycle.preversion_outcome = outcome
        self._put(uai, year, cycle)

    def defer(self, uai: str, now_seconds: float, text: str, keep_base: bool) -> int:
        """Defer this cycle's switch to the date `text`; returns the cycle year."""
        today = day_of(now_seconds)
        year = cycle_year(today)
        first, last = _on(year, DEFER_FROM), _on(year, DEFER_UNTIL)
        try:
            day = datetime.date.fromisoformat(text)
        except ValueError:
            raise InvalidArgument(
                f"{text!r} is not a date: write it as {first.isoformat()}"
            ) from None
        cycle = self.get(uai, year)
        if cycle.outcome:
            raise WrongState(
                f"the switch to {new_school_year(year)} already happened on {cycle.outcome_on}; "
                "nothing to defer"
            )
        if day <= today:
            raise InvalidArgument(
                f"{day} is not in the future (today is {today} on the data-center's clock); "
                f"choose a date from {max(first, today + datetime.timedelta(days=1))} to {last}"
            )
        if not first <= day <= last:
            raise InvalidArgument(
                f"{day} is outside the rentrée window: choose a date from {first} to {last}"
            )
        cycle.choice = Choice.DEFERRED_KEEP_BASE if keep_base else Choice.DEFERRED_NEW_BASE
        cycle.deferred_to = day.isoformat()
        self._put(uai, year, cycle)
        return year

    def view(self, uai: str, year: int) -> dict[str, str]:
        """What "Changement de version" shows for this school and cycle year."""
        cycle = self.get(uai, year)
        return {
            "uai": uai,
            "new_school_year": new_school_year(year),
            "switch_on": cycle.switch_day(uai, year).isoformat(),
            "choice": cycle.choice.value,
            "preversion_from": _on(year, PREVERSION_FROM).isoformat(),
            "preversion_until": _on(year, PREVERSION_UNTIL).isoformat(),
            "defer_until": _on(year, DEFER_UNTIL).isoformat(),
            "preversion_on": cycle.preversion_on,
            "outcome": cycle.outcome,
            "outcome_detail": cycle.outcome_detail
            or (f"pre-version: {cycle.preversion_outcome}" if cycle.preversion_outcome else ""),
            "outcome_on": cycle.outcome_on,
            "base": cycle.base,
        }

    def years(self) -> Iterable[int]:
        return sorted(self._cycles)


_FIELDS = frozenset(f.name for f in fields(SchoolCycle))


def _cycle(saved: dict[str, Any]) -> SchoolCycle:
    """A cycle as year_cycle.json and its journal hold it (unknown keys ignored)."""
    known = {k: v for k, v in saved.items() if k in _FIELDS}
    return SchoolCycle(**{**known, "choice": Choice(saved.get("choice", "automatic"))})


def _encoded(cycle: SchoolCycle) -> dict[str, Any]:
    return {**asdict(cycle), "choice": cycle.choice.value}
