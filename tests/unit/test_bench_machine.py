"""What the benchmarks read of the machine: the page-fault probe (`bench.page_faults`) and a
fleet's CPU by kind (`bench.fleet_cpu`), on real processes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import page_faults
from bench.fleet_cpu import fleet_cpu, process_cpu

BURN = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\n"


def test_the_probe_times_both_kinds_of_fault_in_a_fresh_interpreter() -> None:
    figures = asyncio.run(page_faults.measure(8))
    assert figures is not None
    assert set(figures) == {"zero_fill_us", "copy_on_write_us"}
    # A fault is a trap into the kernel and a page of memory: never free, never a millisecond.
    assert 0.05 < figures["zero_fill_us"] < 1000
    assert 0.05 < figures["copy_on_write_us"] < 1000
    assert "copy-on-write" in page_faults.per_page(figures)


def test_a_probe_that_fails_gives_nothing_and_says_why(capsys: pytest.CaptureFixture[str]) -> None:
    """A side figure never costs a benchmark its own: the caller gets None, and a warning."""
    assert asyncio.run(page_faults.measure(0)) is None  # refused by the probe: exit 2
    assert "--mib must be 1 to 1024" in capsys.readouterr().err
    assert page_faults.per_page(None) == "not measured"


def test_the_probe_refuses_a_size_it_cannot_bound() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.page_faults", "--mib", "5000"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "--mib must be 1 to 1024" in done.stderr


@pytest.mark.parametrize("launch", ["script", "module"])
def test_a_controller_started_either_way_is_counted_as_the_controller(
    tmp_path: Path, launch: str
) -> None:
    """`pronote-dc up` (the installed script, as a user starts it) and `python -m
    datacenter.cli up` (as bench.school_year does) are both the controller; anything else of
    the fleet is a school (its warm parent included)."""
    state = tmp_path / "state"
    script = tmp_path / "pronote-dc"
    script.write_text(BURN + "time.sleep(30)\n", encoding="utf-8")
    package = tmp_path / "datacenter"
    package.mkdir()
    (package / "cli.py").write_text(BURN + "time.sleep(30)\n", encoding="utf-8")
    env = {**os.environ, "PRONOTE_DC_STATE_DIR": str(state), "PYTHONPATH": str(tmp_path)}
    argv = [str(script)] if launch == "script" else ["-m", "datacenter.cli"]
    controller = subprocess.Popen([sys.executable, *argv, "up"], env=env, cwd=tmp_path)
    school = subprocess.Popen([sys.executable, "-c", BURN + "time.sleep(30)"], env=env)
    stranger = subprocess.Popen([sys.executable, "-c", BURN + "time.sleep(30)"])
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            burnt = [process_cpu(p.pid) for p in (controller, school, stranger)]
            if all(b["user"] + b["system"] >= 0.3 for b in burnt):
                break
            time.sleep(0.1)
        used = fleet_cpu(state)
    finally:
        for process in (controller, school, stranger):
            process.kill()
            process.wait()
    assert 0.3 <= used["controller"] < 1.5
    assert 0.3 <= used["schools"] < 1.5  # the school alone: not the stranger, not the controller
    assert used["schools_minor_faults"] > 0


def test_a_process_cpu_to_the_nanosecond_is_not_rounded_down_to_clock_ticks() -> None:
    """A process that used ~15 ms shows 10 ms (or 0) in /proc/<pid>/stat's ticks: summed over
    thousands of schools, half a tick each is lost. "on_cpu" (schedstat) keeps it."""
    burn = "import time\nend = time.process_time() + 0.015\nwhile time.process_time() < end: pass\n"
    child = subprocess.Popen(
        [sys.executable, "-c", burn + "print(flush=True)\ntime.sleep(30)"], stdout=subprocess.PIPE
    )
    try:
        assert child.stdout is not None
        child.stdout.readline()  # its burn is done
        used = process_cpu(child.pid)
    finally:
        child.kill()
        child.wait()
    ticks = used["user"] + used["system"]
    assert used["on_cpu"] >= 0.015  # the burn at least, to the ns
    # user and system are each rounded down to a tick (< 20 ms lost), and scaled from the
    # same runtime that schedstat gives (a few ms of slack between the two readings)
    assert ticks <= used["on_cpu"] < ticks + 0.03
    assert process_cpu(2**22 + 7)["on_cpu"] == 0.0  # gone (or never was): zeros
