"""`make bench` / `make bench-short` (bench/suite.py): every benchmark is in the list, a
benchmark that fails or hangs fails the suite (and so `make test` in CI, which runs
bench-short) while the others still run, and each benchmark takes loopback addresses nobody
holds. Real benchmark processes, real sockets."""

from __future__ import annotations

import contextlib
import io
import ipaddress
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from bench import suite
from bench.addresses import free_pool, is_free, prefix_for
from bench.suite import Benchmark

BENCH = Path(suite.__file__).parent
# A real benchmark at its smallest: about a second.
QUICK = Benchmark("metrics_exposition", short=("--schools", "1", "--requests", "1"))


def test_every_runnable_benchmark_is_in_the_suite_or_excluded_with_a_reason() -> None:
    runnable = {
        path.stem
        for path in BENCH.glob("*.py")
        if re.search(r'^if __name__ == "__main__":', path.read_text(), re.MULTILINE)
    }
    listed = {b.module for b in suite.BENCHMARKS}
    assert runnable - listed == set(suite.NOT_IN_SUITE), (
        "add the new benchmark to bench/suite.py's BENCHMARKS (full and short arguments), "
        "or to NOT_IN_SUITE with the reason"
    )
    assert listed <= runnable  # nothing listed that does not run


def test_a_failing_benchmark_fails_the_suite_and_the_others_still_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    broken = Benchmark("school_year", short=("--schools", "0"))  # refused: exits 1
    assert suite.main(["--short"], benchmarks=(broken, QUICK)) == 1
    out = capsys.readouterr().out
    assert re.search(r"school_year\s+[\d.]+ s\s+failed \(exit 1\)", out)
    assert re.search(r"metrics_exposition\s+[\d.]+ s\s+ok", out)
    assert "controller /sd/schools" in out  # the good one's figures were shown
    assert "FAILED: school_year" in out


def test_a_suite_of_working_benchmarks_succeeds(capsys: pytest.CaptureFixture[str]) -> None:
    assert suite.main(["--short", "--json"], benchmarks=(QUICK,)) == 0
    assert '"outcome": "ok"' in capsys.readouterr().out


def test_a_benchmark_past_its_bound_is_interrupted_and_fails() -> None:
    slow = Benchmark("synthetic_school", full=("--repeat", "50"), seconds=1.0)
    rows = suite.run_suite([slow], short=False, out=io.StringIO())
    assert rows[0]["outcome"] == "timed out after 1 s"
    assert rows[0]["seconds"] < 60  # SIGINT stopped it; no SIGKILL wait


def test_a_suite_started_with_sigint_ignored_still_interrupts_a_benchmark() -> None:
    """As a shell without job control starts `cmd &` (a CI runner): SIGINT ignored, which its
    benchmarks inherit; the suite's SIGINT at the bound must still stop one (bench/__init__)."""
    script = (
        "import signal, sys\n"
        "from bench import suite\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"  # after the import: the child restores
        "slow = suite.Benchmark('synthetic_school', full=('--repeat', '50'), seconds=1.0)\n"
        "row = suite.run_suite([slow], short=False, out=sys.stderr)[0]\n"
        "print(row['outcome'], row['seconds'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=150
    )
    outcome, _, seconds = done.stdout.strip().rpartition(" ")
    assert outcome == "timed out after 1 s", done.stdout + done.stderr
    assert float(seconds) < 60, done.stderr  # ~72 s when the benchmark runs to its end


def started_benchmark(suite_pid: int, module: str) -> list[psutil.Process]:
    """The suite's child running `python -m <module>`, once it runs (the suite prints the
    header before it starts the benchmark: CI once looked in between and found none)."""
    deadline = time.monotonic() + 30
    while True:
        found = []
        for child in psutil.Process(suite_pid).children():
            with contextlib.suppress(psutil.Error):  # gone meanwhile
                if module in child.cmdline():  # exec'd: not the suite's fork before it
                    found.append(child)
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_ctrl_c_on_the_suite_stops_the_benchmark_too() -> None:
    """The benchmark runs in a session of its own, so a terminal's Ctrl-C reaches only the
    suite: the suite passes it on and waits for the benchmark to end (a review's finding)."""
    script = (
        "import sys\n"
        "from bench import suite\n"
        "slow = suite.Benchmark('synthetic_school', full=('--repeat', '50'), seconds=300.0)\n"
        "suite.run_suite([slow], short=False, out=sys.stderr)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script], stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    assert process.stderr is not None
    assert process.stderr.readline().strip() == ""  # the blank line before the header
    assert "=== synthetic_school" in process.stderr.readline()
    benchmark = started_benchmark(process.pid, "bench.synthetic_school")
    assert len(benchmark) == 1
    try:
        time.sleep(1.0)
        os.killpg(process.pid, signal.SIGINT)  # the terminal's Ctrl-C: the suite's group only
        _, rest = process.communicate(timeout=60)
        assert "synthetic_school interrupted: waiting for it" in rest, rest
        assert not benchmark[0].is_running(), "the benchmark outlived the suite"
    finally:
        for leftover in benchmark:
            with contextlib.suppress(psutil.NoSuchProcess):
                leftover.kill()


def test_an_unknown_benchmark_is_refused_with_the_choices() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.suite", "--only", "nope"], capture_output=True, text=True
    )
    assert done.returncode != 0
    assert "no benchmark named nope; choose among: provision_local" in done.stderr


def test_the_pool_is_sized_for_the_fleet() -> None:
    assert prefix_for(1) == 29
    assert prefix_for(250) == 24
    assert prefix_for(1000) == 22
    assert prefix_for(2000) == 21
    with pytest.raises(ValueError):
        prefix_for(70_000)


def test_a_block_with_a_bound_address_is_not_free() -> None:
    block = ipaddress.IPv4Network(free_pool(94, 6))  # a /29 of 127.94/16
    assert is_free(block)
    with socket.socket() as holder:
        holder.bind((str(list(block.hosts())[-1]), 49300))
        holder.listen()
        assert not is_free(block)
