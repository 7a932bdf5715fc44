"""What every benchmark does the same way: progress on stderr, a rate measured over a fixed
time, a process's CPU from /proc, and the figures printed as aligned lines or JSON."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

TICKS = os.sysconf("SC_CLK_TCK")


def stat_fields(path: str) -> list[str] | None:
    """The fields of a /proc/<pid>/stat or /proc/<pid>/task/<tid>/stat: the command name, then
    proc(5)'s from `state` on (so minflt is [8], utime [12], stime [13], in clock ticks); None
    if the process is gone or not ours to read."""
    try:
        with open(path, encoding="ascii", errors="replace") as stat:
            text = stat.read()
    except OSError:
        return None
    return [text[text.index("(") + 1 : text.rindex(")")], *text.rpartition(")")[2].split()]


def cpu_times(pid: int) -> tuple[float, float] | None:
    """(user, system) CPU seconds of every thread of the process (/proc/<pid>/stat's utime
    and stime); None if it is gone or not ours to read."""
    fields = stat_fields(f"/proc/{pid}/stat")
    return None if fields is None else (int(fields[12]) / TICKS, int(fields[13]) / TICKS)


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


async def measure_rounds(
    phases: Mapping[str, Sequence[Callable[[], Awaitable[int]]]],
    rounds: int,
    seconds: float,
    warm_up: float,
    unit: str = "/s",
    digits: int = 1,
) -> dict[str, list[float]]:
    """Each phase once for `warm_up` seconds (not counted), then the phases in turn for
    `rounds` rounds of `seconds` each; every phase's rates, round by round."""
    results: dict[str, list[float]] = {name: [] for name in phases}
    for workers in phases.values():
        await measure_rate(warm_up, workers)
    for round_number in range(rounds):
        for name, workers in phases.items():
            results[name].append(await measure_rate(seconds, workers))
            say(f"round {round_number + 1}: {name} {results[name][-1]:.{digits}f}{unit}")
    return results


def print_report(
    report: dict[str, Any], as_json: bool, render: Callable[[dict[str, Any]], str]
) -> None:
    """The figures on stdout: JSON, or the benchmark's own rendering."""
    print(json.dumps(report, indent=2) if as_json else render(report), flush=True)
