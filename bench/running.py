"""What every benchmark does the same way: progress on stderr, a rate measured over a fixed
time, and the figures printed as aligned lines or JSON."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any


def say(message: str) -> None:
    """Progress for the person watching (stderr), so stdout stays the figures."""
    print(message, file=sys.stderr, flush=True)


async def measure_rate(seconds: float, workers: Sequence[Callable[[], Awaitable[int]]]) -> float:
    """Run every worker back to back until the time is up; the units they return per second."""
    deadline = time.perf_counter() + seconds
    counts = [0] * len(workers)

    async def loop(index: int) -> None:
        while time.perf_counter() < deadline:
            counts[index] += await workers[index]()

    start = time.perf_counter()
    await asyncio.gather(*(loop(i) for i in range(len(workers))))
    return sum(counts) / (time.perf_counter() - start)


def print_figures(result: Mapping[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=2))
        return
    width = max(len(key) for key in result)
    for key, value in result.items():
        print(f"{key:{width}} {value}")
