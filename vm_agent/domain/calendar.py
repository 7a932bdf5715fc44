"""The calendar of a French school year: rentrée, trimestres, holidays, school days.

Dates are approximate but fixed by the year alone (no academic zone), so every school of a
year shares them: classes from 1 September to early July, two weeks off at Toussaint, Noël,
winter and spring, and the fixed public holidays.
"""

from __future__ import annotations

import datetime
import zoneinfo

from vm_agent.domain.school_data import Holiday, Period

_DAY = datetime.timedelta(days=1)
SCHOOL_TIMEZONE = zoneinfo.ZoneInfo("Europe/Paris")


def school_now(epoch_seconds: float) -> datetime.datetime:
    """The Clock's instant as the time on the school's walls: naive, in Europe/Paris (CET/CEST),
    so "today" changes at midnight in France, not at midnight UTC (22:00 or 23:00 UTC)."""
    moment = datetime.datetime.fromtimestamp(epoch_seconds, tz=SCHOOL_TIMEZONE)
    return moment.replace(tzinfo=None)


def start_year(school_year: str) -> int:
    return int(school_year[:4])


def first_monday(school_year: str) -> datetime.date:
    """Monday of the week containing 1 September ("PremierLundi", week 1 of the timetable)."""
    september_first = datetime.date(start_year(school_year), 9, 1)
    return september_first - september_first.weekday() * _DAY


def first_school_day(school_year: str) -> datetime.date:
    day = datetime.date(start_year(school_year), 9, 1)
    while day.weekday() >= 5:
        day += _DAY
    return day


def end_of_classes(school_year: str) -> datetime.date:
    """The day after the last day of classes (exclusive)."""
    return datetime.date(start_year(school_year) + 1, 7, 4)


def periods(school_year: str) -> tuple[Period, ...]:
    """Three trimestres covering the school year; `end` is the trimestre's last day."""
    year = start_year(school_year)
    march_first = datetime.date(year + 1, 3, 1)
    return (
        Period("P1", "Trimestre 1", first_school_day(school_year), datetime.date(year, 11, 30)),
        Period("P2", "Trimestre 2", datetime.date(year, 12, 1), march_first - _DAY),
        Period("P3", "Trimestre 3", march_first, end_of_classes(school_year) - _DAY),
    )


def holidays(school_year: str) -> tuple[Holiday, ...]:
    year = start_year(school_year)

    def two_weeks(name: str, around: datetime.date) -> Holiday:
        monday = around - around.weekday() * _DAY
        return Holiday(name, monday - 2 * _DAY, monday + 14 * _DAY)  # from the Saturday before

    return (
        two_weeks("Vacances de la Toussaint", datetime.date(year, 10, 20)),
        two_weeks("Vacances de Noël", datetime.date(year, 12, 22)),
        two_weeks("Vacances d'hiver", datetime.date(year + 1, 2, 15)),
        two_weeks("Vacances de printemps", datetime.date(year + 1, 4, 15)),
    )


def public_holidays(school_year: str) -> frozenset[datetime.date]:
    year = start_year(school_year)
    return frozenset(
        {
            datetime.date(year, 11, 1),
            datetime.date(year, 11, 11),
            datetime.date(year + 1, 5, 1),
            datetime.date(year + 1, 5, 8),
        }
    )


class SchoolDays:
    """Which days have classes in one school year."""

    def __init__(self, school_year: str) -> None:
        self.first = first_school_day(school_year)
        self.end = end_of_classes(school_year)
        self._holidays = holidays(school_year)
        self._public = public_holidays(school_year)

    def is_school_day(self, day: datetime.date) -> bool:
        if not self.first <= day < self.end or day.weekday() >= 5 or day in self._public:
            return False
        return not any(h.start <= day < h.end for h in self._holidays)

    def between(self, start: datetime.date, end: datetime.date) -> list[datetime.date]:
        """School days in [start, end)."""
        day, days = max(start, self.first), []
        while day < min(end, self.end):
            if self.is_school_day(day):
                days.append(day)
            day += _DAY
        return days
