"""Every benchmark, one after the other, each to its end: what `make bench` and
`make bench-short` run.

`python -m bench.suite [--short] [--only NAME,...] [--docker] [--lock FILE]
[--docker-lock FILE] [--json]`:

- each benchmark of `BENCHMARKS` runs as `python -m bench.<module> <args>` in its own process
  (its full arguments, or its small `short` ones with --short), its figures (stdout) and
  progress (stderr) shown as they come;
- a benchmark that exits non-zero, or runs past its time bound (it is interrupted, so that it
  tears its fleet down, then killed), is a failure; the others still run, and the suite exits
  1 naming every failure: a broken benchmark fails `make bench`, and in CI `make test`;
- the Docker ones (an engine and the agent image needed) run only with --docker;
- `--lock FILE` holds an flock on FILE during each benchmark (not between them), for machines
  shared by people who measure at the same time; `--docker-lock FILE` likewise around the
  Docker ones.

The list is this module's `BENCHMARKS`, the one place to add a benchmark; every module of
`bench/` that runs is in it or in `NOT_IN_SUITE` with the reason (tests/unit/test_bench_suite.py
checks it). A summary table (or JSON) of every benchmark's outcome and time closes the run."""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TextIO

from bench.running import say


@dataclass(frozen=True)
class Benchmark:
    module: str
    """`bench.<module>`."""
    full: tuple[str, ...] = ()
    """Its arguments in `make bench` (its defaults: the sizes its figures are quoted at)."""
    short: tuple[str, ...] = ()
    """Its arguments in `make bench-short` (CI): small sizes, the same code paths."""
    name: str = ""
    """How the summary names it (default: the module), when a module runs twice."""
    docker: bool = False
    """Needs a Docker engine and the agent image (`make docker-images`): only with --docker."""
    seconds: float = 900.0
    """Bound of its full run; a short run is bounded at a fifth of it (at least 120 s)."""

    @property
    def label(self) -> str:
        return self.name or self.module


PHASES_SHORT = ("--schools", "2", "--seconds", "1", "--rounds", "1", "--concurrency", "4")

BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark("provision_local", short=("--schools", "10")),
    Benchmark(
        "provision_local", ("--demo",), ("--demo", "--schools", "5"), name="provision_local --demo"
    ),
    Benchmark("session_path", short=("--seconds", "1", "--rounds", "1")),
    Benchmark("metrics_exposition", short=("--schools", "100", "--requests", "3")),
    Benchmark("school_year", short=("--schools", "5", "--step-days", "7"), seconds=1200),
    Benchmark("synthetic_school", short=("--repeat", "1")),
    Benchmark("pronote_net_logins", short=PHASES_SHORT),
    Benchmark("student_morning", short=PHASES_SHORT),
    Benchmark("pronote_net_reads", short=PHASES_SHORT),
    Benchmark("messaging", short=(*PHASES_SHORT, "--mobile-users", "4", "--mobile-seconds", "2")),
    Benchmark("base_upload", short=("--mib", "4")),
    Benchmark("school_startup", ("--no-docker",), ("--no-docker", "--runs", "1")),
    Benchmark("console_web", short=("--schools", "100", "--connections", "20", "--loads", "2")),
    Benchmark("idle_fleet", short=("--schools", "20", "--seconds", "5", "--settle", "2")),
    Benchmark("grpc_wakeups", short=("--intervals", "0.05", "0.2", "--calls", "10")),
    Benchmark("school_memory", short=("--schools", "10")),
    Benchmark(
        "school_memory", ("--demo",), ("--demo", "--schools", "10"), name="school_memory --demo"
    ),
    Benchmark("provision_docker", short=("--schools", "4", "--parallelism", "4"), docker=True),
)

NOT_IN_SUITE = {
    "provision_swarm": "needs a Swarm lab of Docker-in-Docker nodes (`make bench-swarm` sets "
    "it up, ~3 min, and holds the Docker engine)",
    "suite": "this runner",
    "bare_servers": "school_memory's baseline and provision_local's floor, which start it "
    "(not a benchmark by itself)",
    "page_faults": "a probe of the host, which provision_local runs at the start and the end of "
    "its wave (not a benchmark of pronote-dc)",
}
"""Modules of bench/ that run (`python -m bench.<module>`) but are not in the suite, and why."""


@contextlib.contextmanager
def held(lock: str) -> Iterator[None]:
    """An exclusive flock on `lock` (created if missing) while in the block; nothing when ''."""
    if not lock:
        yield
        return
    with open(lock, "a") as file:
        started = time.monotonic()
        fcntl.flock(file, fcntl.LOCK_EX)
        waited = time.monotonic() - started
        if waited > 1:
            say(f"  (waited {waited:.0f} s for {lock})")
        try:
            yield
        finally:
            fcntl.flock(file, fcntl.LOCK_UN)


def command(benchmark: Benchmark, short: bool) -> list[str]:
    arguments = benchmark.short if short else benchmark.full
    return [sys.executable, "-m", f"bench.{benchmark.module}", *arguments]


def bound(benchmark: Benchmark, short: bool) -> float:
    return max(120.0, benchmark.seconds / 5) if short else benchmark.seconds


def _copy(source: IO[str] | None, out: TextIO) -> None:
    """The benchmark's figures as they come (a line at a time)."""
    assert source is not None
    for line in source:
        out.write(line)
        out.flush()


def _interrupt(process: subprocess.Popen[str]) -> None:
    """SIGINT to the benchmark's process group (KeyboardInterrupt: its `finally` stops its
    fleets), SIGKILL if it has not ended 120 s later."""
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def run_one(benchmark: Benchmark, short: bool, out: TextIO) -> tuple[str, float]:
    """Run one benchmark to its end: ("ok" | "failed (exit N)" | "timed out after S s", s)."""
    argv = command(benchmark, short)
    limit = bound(benchmark, short)
    say(f"\n=== {benchmark.label}: {' '.join(['python', *argv[1:]])} (bound {limit:.0f} s)")
    started = time.monotonic()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, start_new_session=True)
    copier = threading.Thread(target=_copy, args=(process.stdout, out), daemon=True)
    copier.start()
    outcome = ""
    try:
        process.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        outcome = f"timed out after {limit:.0f} s"
        say(f"=== {benchmark.label} {outcome}: interrupted so that it tears its fleet down")
        _interrupt(process)
    except KeyboardInterrupt:  # Ctrl-C: the benchmark, in a session of its own, did not get it
        say(f"=== {benchmark.label} interrupted: waiting for it to tear its fleet down")
        _interrupt(process)
        raise
    copier.join(timeout=10)
    seconds = time.monotonic() - started
    if not outcome:
        outcome = "ok" if process.returncode == 0 else f"failed (exit {process.returncode})"
    say(f"=== {benchmark.label}: {outcome} in {seconds:.1f} s")
    return outcome, seconds


def selected(benchmarks: Sequence[Benchmark], only: Sequence[str], docker: bool) -> list[Benchmark]:
    """The benchmarks to run: `only` (labels or modules, in the suite's order; Docker ones
    included when named), else every one (the Docker ones with `docker`). Raises SystemExit
    naming the choices for an unknown name."""
    known = {b.label for b in benchmarks} | {b.module for b in benchmarks}
    unknown = [name for name in only if name not in known]
    if unknown:
        raise SystemExit(
            f"no benchmark named {', '.join(unknown)}; choose among: "
            + ", ".join(b.label for b in benchmarks)
        )
    if only:
        return [b for b in benchmarks if b.label in only or b.module in only]
    return [b for b in benchmarks if docker or not b.docker]


def run_suite(
    benchmarks: Sequence[Benchmark],
    short: bool,
    lock: str = "",
    docker_lock: str = "",
    out: TextIO = sys.stdout,
) -> list[dict[str, Any]]:
    """Run each benchmark to its end (a failure does not stop the others); a row per one."""
    rows = []
    for benchmark in benchmarks:
        with held(lock), held(docker_lock if benchmark.docker else ""):
            outcome, seconds = run_one(benchmark, short, out)
        rows.append(
            {
                "benchmark": benchmark.label,
                "outcome": outcome,
                "seconds": round(seconds, 1),
                "command": " ".join(["python", *command(benchmark, short)[1:]]),
            }
        )
    return rows


def render(rows: Sequence[dict[str, Any]], short: bool, total: float) -> str:
    width = max(len(str(row["benchmark"])) for row in rows)
    lines = [f"\n{'short ' if short else ''}benchmark suite: {len(rows)} run in {total:.0f} s"]
    lines += [
        f"  {row['benchmark']:{width}}  {row['seconds']:7.1f} s  {row['outcome']}" for row in rows
    ]
    failed = [row["benchmark"] for row in rows if row["outcome"] != "ok"]
    lines.append(f"FAILED: {', '.join(failed)}" if failed else "every benchmark ran to its end")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None, benchmarks: Sequence[Benchmark] = BENCHMARKS) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--short", action="store_true", help="small sizes (CI): a few minutes")
    parser.add_argument("--only", default="", help="comma-separated benchmarks (see --list)")
    parser.add_argument("--docker", action="store_true", help="also the Docker benchmarks")
    parser.add_argument("--lock", default="", help="flock this file during each benchmark")
    parser.add_argument("--docker-lock", default="", help="flock this file around Docker ones")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--json", action="store_true", help="the closing summary as JSON")
    args = parser.parse_args(argv)
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    chosen = selected(benchmarks, only, args.docker)
    if args.list:
        for benchmark in benchmarks:
            docker = "  (--docker)" if benchmark.docker else ""
            print(f"{benchmark.label}{docker}: {' '.join(command(benchmark, args.short)[1:])}")
        return 0
    for lock in (args.lock, args.docker_lock):
        if lock and not Path(lock).parent.is_dir():
            parser.error(f"the lock's directory {Path(lock).parent} does not exist")
    started = time.monotonic()
    figures = sys.stderr if args.json else sys.stdout  # with --json, stdout is the summary only
    rows = run_suite(chosen, args.short, args.lock, args.docker_lock, figures)
    total = time.monotonic() - started
    if args.json:
        print(json.dumps({"short": args.short, "seconds": round(total, 1), "runs": rows}))
    else:
        print(render(rows, args.short, total))
    return 0 if all(row["outcome"] == "ok" for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
