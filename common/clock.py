"""Injected time (DESIGN decision 6): everything dated or periodic reads a Clock."""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Callable
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch, as the simulation sees them."""
        ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> float:
        return time.time()


class SimulatedClock:
    """A clock that only moves when told to, or `speed` times faster than real time.

    Tests use `advance()` instead of sleeping; a simulated school year uses `speed`.
    """

    def __init__(self, start_seconds: float, speed: float = 0.0) -> None:
        self._lock = threading.Lock()
        self._origin_simulated = start_seconds
        self._origin_real = time.monotonic()
        self._speed = speed

    def now(self) -> float:
        with self._lock:
            elapsed_real = time.monotonic() - self._origin_real
            return self._origin_simulated + elapsed_real * self._speed

    @property
    def speed(self) -> float:
        return self._speed

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock never goes backwards; give a positive number of seconds")
        self._rebase(self.now() + seconds)

    def advance_to(self, seconds: float) -> None:
        if seconds < self.now():
            raise ValueError("that date is in the simulated past; give a later date")
        self._rebase(seconds)

    def _rebase(self, simulated: float) -> None:
        with self._lock:
            self._origin_simulated = simulated
            self._origin_real = time.monotonic()


def school_year_of(epoch_seconds: float) -> str:
    """The school year a date falls in ("2026-2027"): it starts on 1 September."""
    day = datetime.datetime.fromtimestamp(epoch_seconds, tz=datetime.UTC).date()
    first = day.year if day.month >= 9 else day.year - 1
    return f"{first}-{first + 1}"


class DrivenClock:
    """A school's clock: real time until the controller drives it (`SetClock`), then the
    controller's simulated time, moving at the speed it gives. The controller stays the only
    source of simulated time; a school restarted meanwhile gets it at the next push."""

    def __init__(self) -> None:
        self._clock: Clock = SystemClock()
        # Called after each `drive`: timers set on this clock's time are set again.
        self.on_drive: list[Callable[[], None]] = []

    def now(self) -> float:
        return self._clock.now()

    @property
    def speed(self) -> float:
        """Seconds of this clock per real second (0: it moves only when driven)."""
        return self._clock.speed if isinstance(self._clock, SimulatedClock) else 1.0

    def drive(self, now_seconds: float, speed: float) -> None:
        if now_seconds <= 0 or speed < 0:
            raise ValueError("give a positive time and a speed of 0 or more")
        self._clock = SimulatedClock(now_seconds, speed)
        for listener in self.on_drive:
            listener()
