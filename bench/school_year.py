"""A simulated school year (1 September -> 31 August) for a fleet on the local runtime.

`python -m bench.school_year [--schools N] [--step-days D] [--json]` measures, in one run:

1. pronote-dc: a controller on a simulated clock (`PRONOTE_DC_CLOCK=simulated`), N demo
   schools, then the clock advanced D days at a time (default 1: every due backup and
   archive made on its day, each school's August switch on its day) to 31 August, as
   `clock school-year` does: wall time of the year, backups (.sauvs) and archives (.archs)
   made, files really written (pruned or unchanged backups are not), the files left on disk
   (expected: N x (12 + 30 + 1 July archive)), and the switch outcomes;
2. baseline: the same number of backup files, each with a small metadata file, written by
   one process, plain writes and a single sync at the end, no RPC, no scheduling: the floor
   of the disk work.

Target: the year in <= 120 s for 100 schools. Everything stays on loopback (127.N.x.0/24,
N = --pool-octet, 150 by default), bounded by --timeout; the controller and schools are
stopped and the directory removed at the end. Progress to stderr, the table (or JSON) to stdout.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc

from bench.running import print_figures
from datacenter.cli.clock import run_school_year, year_report
from protos import console_pb2, console_pb2_grpc
from vm_agent.backups import sync_filesystem

TARGET_SECONDS = 120.0
START = datetime.date(2026, 9, 1)
PAYLOAD_BYTES = 1500  # a demo school's backup


def free_pool(second_octet: int) -> str:
    """A /24 of 127.<second_octet>.0.0/16 whose first address is free on port 49300."""
    while True:
        third = random.randrange(256)
        with socket.socket() as sock:
            try:
                sock.bind((f"127.{second_octet}.{third}.1", 49300))
            except OSError:
                continue
        return f"127.{second_octet}.{third}.0/24"


def pronote_dc(env: dict[str, str], *args: str, timeout: float) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "datacenter.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise SystemExit(f"pronote-dc {' '.join(args)} failed: {result.stderr or result.stdout}")
    return result.stdout


def measure_year(
    tmp: Path, schools: int, step_days: int, timeout: float, pool: str
) -> dict[str, Any]:
    state = tmp / "state"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRONOTE_DC_")}
    env.update(
        PRONOTE_DC_STATE_DIR=str(state),
        PRONOTE_DC_CONSOLE_ADDRESS="127.0.0.1:0",
        PRONOTE_DC_HTTP_ADDRESS="127.0.0.1:0",
        PRONOTE_DC_ADDRESS_POOL=pool,
        PRONOTE_DC_CLOCK="simulated",
        PRONOTE_DC_CLOCK_START=START.isoformat(),
        PRONOTE_DC_SCHEDULER_INTERVAL_SECONDS="3600",  # only the advances make backups
    )
    log = (tmp / "controller.log").open("wb")
    controller = subprocess.Popen(
        [sys.executable, "-m", "datacenter.cli", "up", "--demo", str(schools)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + timeout
        while b"ready." not in (tmp / "controller.log").read_bytes():
            if controller.poll() is not None or time.monotonic() > deadline:
                raise SystemExit((tmp / "controller.log").read_text(errors="replace")[-2000:])
            time.sleep(0.2)
        address = json.loads((state / "controller.json").read_text())["console_address"]
        token = (state / "operator.token").read_text().strip()
        channel = grpc.insecure_channel(address, options=[("grpc.enable_http_proxy", 0)])
        stub = console_pb2_grpc.ConsoleStub(channel)
        metadata = (("authorization", f"Bearer {token}"),)

        def advance(request: console_pb2.AdvanceClockRequest) -> console_pb2.ClockReply:
            reply: console_pb2.ClockReply = stub.AdvanceClock(
                request, metadata=metadata, timeout=timeout
            )
            return reply

        def progress(day: datetime.date, reply: console_pb2.ClockReply) -> None:
            if day.day == 1 or (day.month == 8 and day.day == 31):
                print(f"  {day}: {reply.schools} schools", file=sys.stderr)

        listed = stub.ListSchools(console_pb2.ListSchoolsRequest(), metadata=metadata).schools
        running = sum(1 for school in listed if school.state == "running")
        if running < schools:
            failures = (tmp / "controller.log").read_text(errors="replace").count("failed")
            print(f"  only {running} of {schools} schools started ({failures} failures in "
                  "the controller's log); the year runs for those", file=sys.stderr)  # fmt: skip
        started = time.perf_counter()
        totals = run_school_year(advance, START, step_days, progress)
        wall = time.perf_counter() - started

        class Operator:  # year_report's stub: every call with the operator token
            def __getattr__(self, method: str) -> Any:
                rpc = getattr(stub, method)
                return lambda request: rpc(request, metadata=metadata, timeout=timeout)

        outcomes: dict[str, int] = {}
        for row in year_report(Operator()):
            outcomes[str(row["outcome"])] = outcomes.get(str(row["outcome"]), 0) + 1
        channel.close()
        on_disk = sum(1 for p in (state / "backups").rglob("*") if p.suffix in {".sauvs", ".archs"})
        year_end = len(list((state / "backups").rglob("*fin d'année.archs")))
        return {
            **totals,
            "running": running,
            "wall_seconds": wall,
            "files_on_disk": on_disk,
            "july": year_end,
            "switches": outcomes,
        }
    finally:
        pronote_dc(env, "down", timeout=120)
        controller.wait(timeout=30)
        log.close()


def measure_baseline(tmp: Path, files: int) -> float:
    directory = tmp / "baseline"
    directory.mkdir()
    payload = os.urandom(PAYLOAD_BYTES)
    started = time.perf_counter()
    for i in range(files):
        (directory / f"b{i}.sauvs").write_bytes(payload)
        (directory / f"b{i}.sauvs.json").write_text(json.dumps({"i": i}))
    sync_filesystem(directory)  # this filesystem only, as the schools do
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, default=100)
    parser.add_argument("--step-days", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--pool-octet", type=int, default=150, help="the schools on a /24 of 127.<this>.0.0/16"
    )
    args = parser.parse_args()
    if not 1 <= args.pool_octet <= 254:
        raise SystemExit("--pool-octet: 1 to 254")
    if not 1 <= args.schools <= 250:
        raise SystemExit("--schools: 1 to 250 (one /24 of loopback addresses)")
    tmp = Path(tempfile.mkdtemp(prefix="pdc-year-"))
    try:
        print(
            f"school year for {args.schools} schools, {args.step_days} day(s) a step",
            file=sys.stderr,
        )
        pool = free_pool(args.pool_octet)
        year = measure_year(tmp, args.schools, args.step_days, args.timeout, pool)
        baseline = measure_baseline(tmp, year["files_written"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result = {
        "schools": args.schools,
        "schools_running": year["running"],
        "step_days": args.step_days,
        "advances": year["steps"],
        "backups_made": year["backups"],
        "archives_made": year["archives"],
        "files_written": year["files_written"],
        "files_on_disk": year["files_on_disk"],
        "july_archives": year["july"],
        "august_switches": year["switches"],
        "year_wall_seconds": round(year["wall_seconds"], 1),
        "baseline_same_files_seconds": round(baseline, 1),
        "target_seconds": TARGET_SECONDS,
        "meets_target": year["wall_seconds"] <= TARGET_SECONDS and year["running"] == args.schools,
    }
    print_figures(result, args.json)


if __name__ == "__main__":
    main()
