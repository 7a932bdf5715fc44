"""Value formats (spec §9): padded dates out, lenient dates in, `{_T, V}` wrappers, grades."""

from __future__ import annotations

import datetime
import re
from typing import Any

from vm_agent.domain.school_data import Mark, MarkKind

_DOMAIN = re.compile(r"^\[([0-9.,\s]*)\]$")
_DATE_IN = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})")


def date(day: datetime.date) -> dict[str, Any]:
    return {"_T": 7, "V": day.strftime("%d/%m/%Y")}


def moment(when: datetime.datetime) -> dict[str, Any]:
    return {"_T": 7, "V": when.strftime("%d/%m/%Y %H:%M:%S")}


def wrapped(value: Any, kind: int = 24) -> dict[str, Any]:
    return {"_T": kind, "V": value}


def entity(n: str, label: str, genre: int | None = None, **more: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"N": n, "L": label}
    if genre is not None:
        item["G"] = genre
    item.update(more)
    return item


def grade(value: float | None) -> dict[str, Any]:
    """ "15,50"; an absent student is the special grade "|1" (Absent)."""
    text = "|1" if value is None else f"{value:05.2f}".replace(".", ",")
    return {"_T": 10, "V": text}


def mark(value: Mark | None) -> dict[str, Any]:
    """A student's mark: points as "15,50", a special mark as "|<PRONOTE code>"
    (pronotepy dataClasses.py:116-120 `grade_parse`; pawnote src/decoders/grade-value.ts:10)."""
    if isinstance(value, MarkKind):
        return {"_T": 10, "V": f"|{value.value}"}
    return grade(value)


def number(value: float) -> dict[str, Any]:
    text = f"{value:g}".replace(".", ",")
    return {"_T": 10, "V": text}


def parse_date(value: Any) -> datetime.date | None:
    """`{"V": "15/9/2025 0:0:0"}` or the bare text; clients send it unpadded."""
    text = value.get("V") if isinstance(value, dict) else value
    match = _DATE_IN.match(str(text or "").strip())
    if not match:
        return None
    day, month, year = (int(g) for g in match.groups())
    try:
        return datetime.date(year, month, day)
    except ValueError:
        return None


def parse_weeks(value: Any) -> list[int]:
    """A domain "[3..5]", "[3]" or "[1,4..6]" (possibly wrapped) -> week numbers."""
    text = value.get("V") if isinstance(value, dict) else value
    match = _DOMAIN.match(str(text or "").strip())
    if not match:
        return []
    weeks: list[int] = []
    for part in match.group(1).split(","):
        low, _, high = part.strip().partition("..")
        if not low.isdigit() or (high and not high.isdigit()):
            continue
        weeks.extend(range(int(low), int(high or low) + 1))
    return sorted(set(weeks))[:60]  # a school year has ~44 weeks: bound what one call reads
