"""An engine's listing, taken in a thread and shared: what `observe` answers from on docker://
and swarm:// without blocking the controller's event loop (DESIGN decision 39)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class SharedSnapshot(Generic[T]):
    """The result of `take()` (a blocking engine call: a containers, services or tasks
    listing), at most `max_age_seconds` old.

    `get()` never blocks the event loop: a stale snapshot is taken again in a thread, and every
    caller that asks while it is being taken awaits that one call (one listing per
    `max_age_seconds` however many schools are observed). `invalidate()` makes the next
    `get()` take it again (after a start, a stop or a death the runtime saw). An error of
    `take()` (e.g. `docker.errors.APIError`, a timeout of the engine's client) is raised to
    every caller that awaited that call, and the next `get()` tries again."""

    def __init__(self, take: Callable[[], T], empty: T, max_age_seconds: float) -> None:
        self._take = take
        self._value = empty
        self._max_age = max_age_seconds
        self._taken_at = -float("inf")
        self._generation = 0  # bumped by invalidate()
        self._value_generation = -1  # the generation the value's listing was begun in
        self._taking: asyncio.Future[tuple[int, T]] | None = None
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        """The next `get()` takes a new snapshot. Thread-safe."""
        with self._lock:
            self._generation += 1

    async def get(self) -> T:
        """The snapshot, taken again if older than `max_age_seconds` or invalidated since: a
        listing begun at or after this call's invalidations answers it (at most two listings
        however many invalidations come meanwhile)."""
        with self._lock:
            wanted = self._generation
        while True:
            with self._lock:
                if (
                    self._value_generation == self._generation
                    and time.monotonic() - self._taken_at <= self._max_age
                ):
                    return self._value
            if self._taking is None or self._taking.get_loop() is not asyncio.get_running_loop():
                self._taking = asyncio.ensure_future(self._take_in_thread())
                self._taking.add_done_callback(_retrieved)  # an error nobody awaited any more
            # Shielded: one caller cancelled does not cancel the listing the others await.
            generation, value = await asyncio.shield(self._taking)
            if generation >= wanted:
                return value

    async def _take_in_thread(self) -> tuple[int, T]:
        try:
            with self._lock:
                generation = self._generation
            value = await asyncio.to_thread(self._take)
            with self._lock:
                if generation >= self._value_generation:
                    self._value = value
                    self._value_generation = generation
                    self._taken_at = time.monotonic()
            return generation, value
        finally:
            self._taking = None


def _retrieved(future: asyncio.Future[T]) -> None:
    if not future.cancelled():
        future.exception()
