"""The controller's event loop, watched (DESIGN decision 46).

Every console call, metric scrape, school start and reconcile pass of the controller runs on one
asyncio event loop: a call that blocks its thread (a sync engine listing, a slow disk, a lock)
holds all of them, and a client sees only its own deadline pass. Three times CI's swarm tier saw
a `GetSchool` get no answer in 30 s during a drain (DESIGN 39); this makes such a stall visible
where ops look:

- a timer due every `interval_seconds` measures how late the loop runs it: its lag, observed
  into the histogram `pronote_controller_event_loop_lag_seconds` (the measure Prometheus'
  client libraries call `nodejs_eventloop_lag_seconds`); a call that holds the loop H seconds
  makes one lag between H - interval and H;
- a thread of its own, looking every `interval_seconds / 2`, notices a timer `stall_seconds`
  late and logs a WARNING with the stack of the loop's thread at that moment, once per stall,
  so the log names the call that holds it, while it holds it. When the watching thread was
  itself held about as long (the process stopped or starved of CPU, or a call that keeps
  Python's GIL), no stack can tell, and the WARNING says so instead;
- the loop logs how late its timer ran once it runs again.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
import traceback
from collections.abc import Callable

log = logging.getLogger("datacenter.loop_watch")

INTERVAL_SECONDS = 1.0
STALL_SECONDS = 2.0


class LoopWatch:
    """Watch the running event loop: `run()` is its timer (a task of that loop); it starts the
    watching thread itself and stops it when cancelled.

    `observe(lag_seconds)` receives every lag (>= 0, seconds late over `interval_seconds`),
    e.g. a `prometheus_client.Histogram.observe`. Raises ValueError for a non-positive
    interval or a stall threshold not above it."""

    def __init__(
        self,
        observe: Callable[[float], None],
        interval_seconds: float = INTERVAL_SECONDS,
        stall_seconds: float = STALL_SECONDS,
    ) -> None:
        if interval_seconds <= 0 or stall_seconds <= interval_seconds:
            raise ValueError("the stall threshold must exceed a positive timer interval")
        self._observe = observe
        self._interval = interval_seconds
        self._stall = stall_seconds
        self._beat = time.monotonic()  # the loop's last run of the timer
        self._loop_thread = 0
        self._stopped = threading.Event()
        self.stalls = 0  # stalls the thread logged

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._beat = time.monotonic()
        watcher = threading.Thread(target=self._watch, name="loop-watch", daemon=True)
        watcher.start()
        try:
            while True:
                due = loop.time() + self._interval
                await asyncio.sleep(self._interval)
                lag = max(0.0, loop.time() - due)
                self._beat = time.monotonic()
                self._observe(lag)
                if lag >= self._stall:
                    log.warning("the controller's event loop ran its timer %.1f s late", lag)
        finally:
            self._stopped.set()

    def _watch(self) -> None:
        """The watching thread: one WARNING per stall, with the loop thread's stack."""
        reported_beat = -1.0
        look = self._interval / 2
        looked_at = time.monotonic()
        while not self._stopped.wait(look):
            now = time.monotonic()
            overslept, looked_at = now - looked_at - look, now
            beat = self._beat
            late = now - beat - self._interval
            if late < self._stall or beat == reported_beat:
                continue
            frame = sys._current_frames().get(self._loop_thread)
            stack = "".join(traceback.format_stack(frame)) if frame is not None else "(gone)\n"
            if self._beat != beat:
                continue  # the loop ran meanwhile: that stack is not the stall's
            reported_beat = beat
            self.stalls += 1
            if overslept >= late / 2:  # this thread did not run either: no stack can tell
                log.warning(
                    "the controller's event loop is %.1f s late, and so was a thread of its "
                    "own: the whole process did not run (stopped, starved of CPU) or a call "
                    "held Python's GIL",
                    late,
                )
                continue
            log.warning(
                "the controller's event loop is %.1f s late: every console call, scrape and "
                "school start waits; its thread is in:\n%s",
                late,
                stack.rstrip(),
            )
