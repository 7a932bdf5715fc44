"""The simulated clock moves only when told to; school years start on 1 September."""

from __future__ import annotations

import datetime

import pytest

from common.clock import SimulatedClock, SystemClock, school_year_of


def epoch(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> float:
    return datetime.datetime(
        year, month, day, hour, minute, second, tzinfo=datetime.UTC
    ).timestamp()


def test_simulated_clock_starts_where_told_and_stands_still() -> None:
    clock = SimulatedClock(1000.0)
    assert clock.now() == 1000.0
    assert clock.now() == 1000.0


def test_advance_moves_by_the_given_seconds() -> None:
    clock = SimulatedClock(1000.0)
    clock.advance(30.5)
    clock.advance(0)
    assert clock.now() == 1030.5


def test_advance_backwards_is_refused() -> None:
    clock = SimulatedClock(1000.0)
    with pytest.raises(ValueError, match="never goes backwards"):
        clock.advance(-1)
    assert clock.now() == 1000.0


def test_advance_to_a_later_date() -> None:
    clock = SimulatedClock(1000.0)
    clock.advance_to(5000.0)
    assert clock.now() == 5000.0


def test_advance_to_the_past_is_refused() -> None:
    clock = SimulatedClock(1000.0)
    with pytest.raises(ValueError, match="simulated past"):
        clock.advance_to(999.0)
    assert clock.now() == 1000.0


def test_speed_makes_the_simulated_clock_run() -> None:
    clock = SimulatedClock(0.0, speed=1e6)
    first = clock.now()
    second = clock.now()
    assert 0.0 <= first <= second


def test_system_clock_is_the_wall_clock() -> None:
    now = datetime.datetime.now(datetime.UTC).timestamp()
    assert abs(SystemClock().now() - now) < 5


@pytest.mark.parametrize(
    ("moment", "year"),
    [
        (epoch(2026, 8, 31, 23, 59, 59), "2025-2026"),
        (epoch(2026, 9, 1, 0, 0, 0), "2026-2027"),
        (epoch(2027, 1, 15), "2026-2027"),
        (epoch(2027, 7, 14), "2026-2027"),
        (epoch(2026, 12, 31, 23, 59, 59), "2026-2027"),
    ],
)
def test_school_year_of(moment: float, year: str) -> None:
    assert school_year_of(moment) == year
