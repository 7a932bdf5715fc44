"""Backups and archives (DOMAIN.md, seed 004 Fiche 10): when they are due, how they are named,
which are kept. Plain Python: the controller computes what is due, the school's agent names,
writes and prunes with the same rules. All times are UTC.

- a sauvegarde every 2 hours (00:00, 02:00, ...), the last 12 kept (24 h back): keep-last 12;
- an archive every day at 04:33, one per day for the last 30 days: keep-daily 30;
- a year-end archive on 5 July at 04:33, kept (beside the 30 daily ones) until the next
  year-end archive replaces it, so the next year's base can recover last year's data.

Names follow the console's examples: `Base année 2023-202401.sauvs` (school year then the
2-hour slot of the day, 01 = 00:00-02:00 ... 12 = 22:00-24:00, so the 12 kept never clash),
`Annee Base 2022-2023_20230713_04h33.archs`, and `Annee Base 2022-2023 fin d'année.archs`.
"""

from __future__ import annotations

import datetime
import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass

BACKUP_EVERY_SECONDS = 2 * 3600
BACKUPS_KEPT = 12
ARCHIVE_TIME = datetime.time(4, 33)
ARCHIVES_KEPT = 30
YEAR_END_DAY = (7, 5)  # (month, day): early July
YEAR_END_KEPT = 1
_UTC = datetime.UTC
# A name a school may be asked about: no directory part, no hidden file, a known extension.
_SAFE_NAME = re.compile(r"^[^/\\\x00.][^/\\\x00]{0,150}\.(sauvs|archs)$")


class Kind(enum.Enum):
    SAUVEGARDE = "sauvegarde"
    ARCHIVE = "archive"
    YEAR_END = "year_end"
    """The year-end archive: an archive the 30-day rule does not prune."""


@dataclass(frozen=True)
class Due:
    kind: Kind
    at_seconds: float


@dataclass(frozen=True)
class Entry:
    name: str
    kind: Kind
    made_at_seconds: float


def _dt(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, tz=_UTC)


def due_between(after_seconds: float, until_seconds: float) -> list[Due]:
    """Every backup and archive due in (after, until], in time order."""
    if until_seconds <= after_seconds:
        return []
    due: list[Due] = []
    first = (int(after_seconds) // BACKUP_EVERY_SECONDS + 1) * BACKUP_EVERY_SECONDS
    due.extend(
        Due(Kind.SAUVEGARDE, float(t))
        for t in range(first, int(until_seconds) + 1, BACKUP_EVERY_SECONDS)
    )
    day = _dt(after_seconds).date()
    last_day = _dt(until_seconds).date()
    while day <= last_day:
        at = datetime.datetime.combine(day, ARCHIVE_TIME, tzinfo=_UTC).timestamp()
        if after_seconds < at <= until_seconds:
            due.append(Due(Kind.ARCHIVE, at))
            if (day.month, day.day) == YEAR_END_DAY:
                due.append(Due(Kind.YEAR_END, at))
        day += datetime.timedelta(days=1)
    due.sort(key=lambda d: (d.at_seconds, d.kind != Kind.SAUVEGARDE, d.kind.value))
    return due


def next_due_after(after_seconds: float) -> float:
    """When the first backup or archive after `after_seconds` is due (the next 2-hour slot or
    the next 04:33): what a scheduler sleeps until instead of polling."""
    slot = (int(after_seconds) // BACKUP_EVERY_SECONDS + 1) * BACKUP_EVERY_SECONDS
    return min(float(slot), next_daily_after(after_seconds, ARCHIVE_TIME))


def next_daily_after(after_seconds: float, time: datetime.time) -> float:
    """The first `time` of a day (UTC) strictly after `after_seconds`."""
    day = _dt(after_seconds).date()
    while (at := datetime.datetime.combine(day, time, tzinfo=_UTC).timestamp()) <= after_seconds:
        day += datetime.timedelta(days=1)
    return at


def name_for(kind: Kind, school_year: str, at_seconds: float) -> str:
    """The file name of a backup of the base of `school_year` made at `at_seconds`."""
    when = _dt(at_seconds)
    if kind is Kind.SAUVEGARDE:
        return f"Base année {school_year}{when.hour // 2 + 1:02d}.sauvs"
    if kind is Kind.YEAR_END:
        return f"Annee Base {school_year} fin d'année.archs"
    return f"Annee Base {school_year}_{when:%Y%m%d_%Hh%M}.archs"


def is_safe_name(name: str) -> bool:
    """True for a plain backup or archive file name (no path, no traversal)."""
    return bool(_SAFE_NAME.match(name)) and ".." not in name


def retained(entries: Iterable[Entry]) -> set[str]:
    """The names kept: keep-last 12 sauvegardes, keep-daily 30 archives, keep-last 1 year-end.

    Entries with the same name: the newest one is the file (a later backup overwrote it).
    """
    newest: dict[str, Entry] = {}
    for entry in entries:
        if entry.name not in newest or entry.made_at_seconds >= newest[entry.name].made_at_seconds:
            newest[entry.name] = entry
    by_kind: dict[Kind, list[Entry]] = {kind: [] for kind in Kind}
    for entry in newest.values():
        by_kind[entry.kind].append(entry)
    kept: set[str] = set()
    for kind, count in ((Kind.SAUVEGARDE, BACKUPS_KEPT), (Kind.YEAR_END, YEAR_END_KEPT)):
        ordered = sorted(by_kind[kind], key=lambda e: e.made_at_seconds, reverse=True)
        kept.update(e.name for e in ordered[:count])
    days: set[datetime.date] = set()
    for entry in sorted(by_kind[Kind.ARCHIVE], key=lambda e: e.made_at_seconds, reverse=True):
        day = _dt(entry.made_at_seconds).date()
        if day in days:
            continue  # keep-daily: the newest archive of each day
        if len(days) == ARCHIVES_KEPT:
            break
        days.add(day)
        kept.add(entry.name)
    return kept
