"""Moments the tests give: a date, a datetime or an ISO string; naive ones are UTC."""

from __future__ import annotations

import datetime

Moment = datetime.date | datetime.datetime | str


def to_datetime(when: Moment) -> datetime.datetime:
    """'2026-12-10' or date(2026, 12, 10) -> 2026-12-10 00:00 UTC; '2026-12-10T08:00' -> 08:00
    UTC; an aware datetime is kept. Raises ValueError for anything else, saying the format."""
    if isinstance(when, str):
        try:
            when = datetime.datetime.fromisoformat(when)
        except ValueError:
            raise ValueError(
                f"{when!r} is not a date: write it as 2026-12-10 or 2026-12-10T08:00 (UTC)"
            ) from None
    if not isinstance(when, datetime.datetime):
        if not isinstance(when, datetime.date):
            raise ValueError(f"{when!r} is not a date, a datetime or an ISO string")
        when = datetime.datetime(when.year, when.month, when.day)
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return when
