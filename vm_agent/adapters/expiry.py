"""Idle sessions expire on a timer set for their deadline, not by a periodic sweep (DESIGN
decision 31): a school nobody uses has no timer at all.

The deadline is on the school's clock (real, or the controller's simulated time at its speed):
the timer waits (deadline - now) / speed real seconds; a frozen clock (speed 0) waits until it
is driven again. Every read of the sessions expires them first as well (`SchoolServer`), so
the timer only makes memory, metrics and licences follow without anybody asking.
"""

from __future__ import annotations

import asyncio

from common.clock import DrivenClock
from vm_agent.domain.school import SchoolServer

# Past its deadline, the timer fires this much later (real seconds): sessions that expire
# within the same moment go in one wake-up.
SLACK_SECONDS = 0.05


class IdleExpiry:
    def __init__(self, school: SchoolServer, clock: DrivenClock) -> None:
        self._school = school
        self._clock = clock
        self._loop = asyncio.get_running_loop()
        self._timer: asyncio.TimerHandle | None = None
        self._deadline: float | None = None  # of the timer set, on the school's clock
        school.sessions.on_added = self.arm
        school.web_sessions.on_added = self.arm
        clock.on_drive.append(self.rearm)

    def arm(self) -> None:
        """A session was added: make sure a timer fires by its deadline (touches only move
        deadlines later, so a timer set for an earlier one is never late)."""
        deadline = self._next_deadline()
        if deadline is not None and (self._deadline is None or deadline < self._deadline):
            self._set(deadline)

    def rearm(self) -> None:
        """The clock was driven (a jump, or a new speed): set the timer again."""
        self._cancel()
        deadline = self._next_deadline()
        if deadline is not None:
            self._set(deadline)

    def close(self) -> None:
        self._cancel()

    def _next_deadline(self) -> float | None:
        deadlines = [
            d
            for d in (self._school.sessions.next_expiry(), self._school.web_sessions.next_expiry())
            if d is not None
        ]
        return min(deadlines, default=None)

    def _set(self, deadline: float) -> None:
        self._cancel()
        left, speed = deadline - self._clock.now(), self._clock.speed
        if left > 0 and speed <= 0:
            return  # frozen before the deadline: nothing expires until driven (rearm)
        delay = max(0.0, left / speed if left > 0 else 0.0) + SLACK_SECONDS
        self._deadline = deadline
        self._timer = self._loop.call_later(delay, self._fire)

    def _fire(self) -> None:
        self._timer = self._deadline = None
        self._school.expire_idle()
        deadline = self._next_deadline()  # the sessions used since: their new deadlines
        if deadline is not None:
            self._set(deadline)

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._deadline = None
