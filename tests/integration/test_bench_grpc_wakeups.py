"""`python -m bench.grpc_wakeups`: a real `grpc.aio` server process called over loopback;
the wake-ups of gRPC's worker threads per call grow with the gap between calls (the pool's
backed-off sleeps), which is what PERFORMANCE.md's school-year analysis rests on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_server_called_less_often_wakes_its_grpc_workers_more_per_call() -> None:
    run = subprocess.run(
        [
            *(sys.executable, "-m", "bench.grpc_wakeups", "--intervals", "0.02", "0.4"),
            *("--calls", "8", "--json"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    figures = json.loads(run.stdout)
    often, seldom = figures["every_0.02_s"], figures["every_0.4_s"]
    assert often["event_engine"]["threads"] >= 1 and often["main thread"]["threads"] == 1
    assert seldom["event_engine"]["wake_ups_per_call"] > often["event_engine"]["wake_ups_per_call"]
    ratio = figures["every_0.4_s_vs_every_0.02_s_wake_ups_per_call"]["event_engine"]
    assert ratio > 1.2
    # A school's settings (DESIGN decisions 43 and 45: listener outside the pool, no BDP
    # probe on either end) spare the pool most of those wake-ups, measured in the same run.
    school = figures["school_every_0.4_s"]
    assert school["event_engine"]["wake_ups_per_call"] < seldom["event_engine"]["wake_ups_per_call"]
    assert ["grpc.http2.bdp_probe", 0] in figures["school_server_options"]


def test_bad_arguments_are_refused_with_a_reason() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "bench.grpc_wakeups", "--intervals", "0", "--calls", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode != 0 and "--intervals" in run.stderr
