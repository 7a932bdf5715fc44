"""The controller's event loop watch (DESIGN 46): a call that holds the loop is measured and
logged, with the loop thread's stack naming it, while it still holds the loop."""

from __future__ import annotations

import asyncio
import logging
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

import pytest

from datacenter.adapters.loop_watch import LoopWatch


def a_sync_engine_listing(seconds: float) -> None:
    time.sleep(seconds)  # what a sync call on the loop's thread does to every other call


def watched(watch: LoopWatch, body: Callable[[], Awaitable[None]]) -> None:
    """Run `body` on a new event loop that `watch` watches, then stop the watch."""

    async def scenario() -> None:
        watching = asyncio.create_task(watch.run())
        await body()
        watching.cancel()
        with pytest.raises(asyncio.CancelledError):
            await watching

    asyncio.run(scenario())


def test_a_held_loop_is_logged_with_the_call_holding_it_and_its_lag_observed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    lags: list[float] = []
    watch = LoopWatch(lags.append, interval_seconds=0.05, stall_seconds=0.3)

    async def body() -> None:
        await asyncio.sleep(0.3)  # some on-time beats first
        a_sync_engine_listing(0.8)
        await asyncio.sleep(0.2)

    with caplog.at_level(logging.WARNING, logger="datacenter.loop_watch"):
        watched(watch, body)
    held = [r.getMessage() for r in caplog.records if "its thread is in" in r.getMessage()]
    assert len(held) == 1, held  # once per stall, however long it lasts
    assert "a_sync_engine_listing" in held[0] and "time.sleep(seconds)" in held[0], held[0]
    assert any("ran its timer" in r.getMessage() for r in caplog.records)
    assert watch.stalls == 1
    assert max(lags) >= 0.7  # the held time, seen by the timer
    assert sorted(lags)[len(lags) // 2] < 0.2  # the other beats were on time


def test_an_idle_loop_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    lags: list[float] = []
    watch = LoopWatch(lags.append, interval_seconds=0.05, stall_seconds=0.5)

    with caplog.at_level(logging.WARNING, logger="datacenter.loop_watch"):
        watched(watch, lambda: asyncio.sleep(0.6))
    assert not caplog.records and watch.stalls == 0
    assert len(lags) >= 5


STOPPED_SCRIPT = """
import asyncio, logging, sys
from datacenter.adapters.loop_watch import LoopWatch
logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
async def main():
    watching = asyncio.create_task(LoopWatch(lambda lag: None, 0.1, 0.4).run())
    print("ready", flush=True)
    await asyncio.sleep(2.5)
    watching.cancel()
asyncio.run(main())
"""


def test_a_stopped_process_is_not_blamed_on_the_call_its_loop_was_in() -> None:
    """SIGSTOP (or a machine that starves the process) holds every thread: the loop was idle
    in its selector, so a stack would name an innocent call (a review's finding)."""
    process = subprocess.Popen(
        [sys.executable, "-c", STOPPED_SCRIPT], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None and process.stdout.readline() == b"ready\n"
    time.sleep(0.5)
    process.send_signal(signal.SIGSTOP)
    time.sleep(1.5)
    process.send_signal(signal.SIGCONT)
    _, stderr = process.communicate(timeout=30)
    log = stderr.decode()
    assert "its thread is in" not in log, log
    assert "the whole process did not run" in log or "ran its timer" in log, log


def test_a_threshold_not_above_the_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="stall threshold"):
        LoopWatch(lambda lag: None, interval_seconds=1.0, stall_seconds=1.0)
