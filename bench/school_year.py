"""A simulated school year (1 September -> 31 August) for a fleet on the local runtime.

`python -m bench.school_year [--schools N] [--step-days D] [--pool-octet O]
[--page-merging on|off] [--timeout S] [--json]` measures, in one run:

1. pronote-dc: a controller on a simulated clock (`PRONOTE_DC_CLOCK=simulated`), N demo
   schools, its same-page merging pass after the provisioning waited for (DESIGN decision
   35; the year of a fleet at rest, as `bench.idle_fleet` measures; the seconds waited are
   printed), then the clock advanced D days at a time (default 1: every due backup and
   archive made on its day, each school's August switch on its day) to 31 August, as
   `clock school-year` does: wall time of the year, backups (.sauvs) and archives (.archs)
   made, files really written (pruned or unchanged backups are not), the files left on disk
   (expected: N x (12 + 30 + 1 July archive)), and the switch outcomes;
2. baseline: the same disk work in one process, no RPC, no scheduler, no school process: a
   real `BackupStore` per school (vm_agent/backups.py, the schools' own code) makes the same
   due backups of the same states (a real school's July archive until its August switch,
   its newest sauvegarde after) for the same D-day steps: the same backup files, hard links,
   daily `index.json` rewrites and syncs (the files it really wrote printed beside the
   fleet's).

Both are also given per school (seconds of the year / N): the figure to compare across fleet
sizes (the target: 400 schools within 10 % of 100). Beside the wall time, the CPU seconds
the year cost (utime + stime from /proc: the controller, and every school process with the
warm parent, the schools' time in the kernel and in gRPC's own threads apart, their page
faults), and the baseline's: on 2 shared cores the wall time moves with the other work of
the machine (±20 % between runs here), the CPU a school costs less (±7 %); what else the
machine's CPUs did during the year is printed beside (`..._besides_the_fleet`, with the
kernel's page scanners, ksmd and DAMON's kdamond, in `page_scanners`).

N is 1 to 2000; the schools take a free block of 127.<--pool-octet>.0.0/16 (150 by default)
big enough for N. Bounded by --timeout (provisioning, the wait for the merging pass, and
each day's advance); the controller and schools are stopped and the directory removed at
the end, also after a failure or Ctrl-C. Killed with SIGKILL it cannot: the state directory
it printed at the start tells `PRONOTE_DC_STATE_DIR=<it> pronote-dc down` what to stop.
`machine_steal`, like every figure per school, is the machine's (here /proc/stat's steal)
divided by the schools. The wait counts the controller's first pass ended; a second pass
(one begun during a slow provisioning, whose last schools then wait for the next) is not
waited for. Progress to stderr, the table (or JSON) to stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc

from bench.addresses import free_pool
from bench.fleet_cpu import fleet_cpu
from bench.local_fleet import wait_for_rest
from bench.running import print_figures, say
from common import backup_plan
from datacenter.cli.clock import run_school_year, year_report
from datacenter.core import year_cycle
from protos import console_pb2, console_pb2_grpc
from vm_agent.backups import BackupStore

TARGET_SECONDS = 120.0  # for 100 schools
START = datetime.date(2026, 9, 1)
MAX_SCHOOLS = 2000


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
    tmp: Path, schools: int, step_days: int, timeout: float, pool: str, page_merging: str = "on"
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
        PRONOTE_DC_PAGE_MERGING=page_merging,
    )
    say(f"  state in {state} (if this run is killed: PRONOTE_DC_STATE_DIR={state} pronote-dc down)")
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
            if controller.poll() is not None:
                log_tail = (tmp / "controller.log").read_text(errors="replace")[-2000:]
                raise SystemExit(f"the controller exited ({controller.returncode}):\n{log_tail}")
            if time.monotonic() > deadline:
                made = sum(1 for _ in (state / "schools").glob("*")) if state.exists() else 0
                raise SystemExit(
                    f"`up --demo {schools}` was not ready within {timeout:g} s ({made} "
                    "school directories made): a loaded machine; give a longer --timeout"
                )
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
        say("  waiting for the merging pass after the provisioning (the year of a fleet at rest)…")
        merging_waited, merging_passes = wait_for_rest(state, timeout)
        grpc_threads: dict[str, float] = {}
        cpu_before = fleet_cpu(state, grpc_threads)
        started = time.perf_counter()
        totals = run_school_year(advance, START, step_days, progress)
        wall = time.perf_counter() - started
        cpu_after = fleet_cpu(state, grpc_threads)
        # the gRPC threads' figure of cpu_after is already the year's (by thread): keep it so
        cpu_after["schools_grpc_threads"] += cpu_before["schools_grpc_threads"]
        cpu = {kind: cpu_after[kind] - cpu_before[kind] for kind in cpu_after}
        cpu["schools_grpc_threads_alive"] = cpu_after["schools_grpc_threads_alive"]  # at the end

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
        uais, before, after = sample_states(state / "backups")
        return {
            **totals,
            "running": running,
            "merging_waited": merging_waited,
            "merging_passes": merging_passes,
            "wall_seconds": wall,
            "cpu_seconds": cpu,
            "files_on_disk": on_disk,
            "july": year_end,
            "switches": outcomes,
            "uais": uais,
            "before": before,
            "after": after,
        }
    finally:
        stop_fleet(env, controller)
        log.close()


def stop_fleet(env: dict[str, str], controller: subprocess.Popen[bytes]) -> None:
    """`pronote-dc down`, then, if the controller is still running (it had not written its
    controller.json yet: not ready within --timeout), end it and `down` again for the schools
    it started meanwhile: nothing of the run is left running when its directory is removed."""
    with contextlib.suppress(SystemExit, subprocess.TimeoutExpired):
        pronote_dc(env, "down", timeout=120)
    try:
        controller.wait(timeout=30)
        return
    except subprocess.TimeoutExpired:
        controller.terminate()
    try:
        controller.wait(timeout=30)
    except subprocess.TimeoutExpired:
        controller.kill()
        controller.wait(timeout=30)
    pronote_dc(env, "down", timeout=120)


def sample_states(backups: Path) -> tuple[list[str], dict[str, Any], dict[str, Any]]:
    """The fleet's UAIs, and a real school's state before its August switch (its July
    year-end archive) and after it (its newest sauvegarde): for the baseline to write the same
    bytes under the same names."""
    uais = sorted(p.name for p in backups.iterdir() if p.is_dir())
    year_end = sorted(backups.rglob("*fin d'année.archs"))
    newest = max(backups.rglob("*.sauvs"), key=lambda p: p.stat().st_mtime_ns, default=None)
    if not year_end or newest is None:
        raise SystemExit("the year made no July archive or no sauvegarde: no baseline to run")
    return uais, _state(year_end[0]), _state(newest)


def _state(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_bytes())["state"])


def measure_baseline(
    tmp: Path, uais: list[str], step_days: int, before: dict[str, Any], after: dict[str, Any]
) -> tuple[float, float, int]:
    """The same backups made by a real `BackupStore` per school (the fleet's UAIs), in one
    process, day step by day step as the year advanced, the state `before` until the school's
    August switch and `after` from it, under the new school year's names (as the scheduler
    splits a step at a switch): (seconds, CPU seconds of this process, backup files really
    written)."""
    directory = tmp / "baseline"
    year = START.year + 1
    old_year, new_year = year_cycle.new_school_year(START.year), year_cycle.new_school_year(year)
    stores = {uai: BackupStore(directory / uai, uai) for uai in uais}
    switch_at = {uai: year_cycle.at(year_cycle.automatic_day(uai, year)) for uai in uais}
    last_day = datetime.date(year, 8, 31)
    last = datetime.datetime.combine(START, datetime.time(), tzinfo=datetime.UTC).timestamp()
    started, cpu_started = time.perf_counter(), time.process_time()
    written = 0
    day = START
    while day < last_day:
        day = min(day + datetime.timedelta(days=step_days), last_day)
        moment = datetime.datetime.combine(day, datetime.time(23, 59), tzinfo=datetime.UTC)
        due = backup_plan.due_between(last, moment.timestamp())
        for uai, store in stores.items():
            switch = switch_at[uai]
            for part, state, school_year in (
                ([d for d in due if d.at_seconds < switch], before, old_year),
                ([d for d in due if d.at_seconds >= switch], after, new_year),
            ):
                if part:
                    written += store.make(part, school_year, state).files_written
        last = moment.timestamp()
    return time.perf_counter() - started, time.process_time() - cpu_started, written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, default=100)
    parser.add_argument("--step-days", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--page-merging",
        choices=("on", "off"),
        default="on",
        help="the controller's same-page merging passes (PRONOTE_DC_PAGE_MERGING; on)",
    )
    parser.add_argument(
        "--pool-octet", type=int, default=150, help="the schools on a /24 of 127.<this>.0.0/16"
    )
    args = parser.parse_args()
    if not 1 <= args.pool_octet <= 254:
        raise SystemExit("--pool-octet: 1 to 254")
    if not 1 <= args.schools <= MAX_SCHOOLS:
        raise SystemExit(f"--schools: 1 to {MAX_SCHOOLS}")
    if not 1 <= args.step_days <= 365:
        raise SystemExit("--step-days: 1 to 365")
    tmp = Path(tempfile.mkdtemp(prefix="pdc-year-"))
    try:
        print(
            f"school year for {args.schools} schools, {args.step_days} day(s) a step",
            file=sys.stderr,
        )
        pool = free_pool(args.pool_octet, args.schools)
        say(f"  schools on {pool}")
        year = measure_year(
            tmp, args.schools, args.step_days, args.timeout, pool, args.page_merging
        )
        say("baseline: the same backups by one process's BackupStores…")
        baseline, baseline_cpu, baseline_written = measure_baseline(
            tmp, year["uais"], args.step_days, year["before"], year["after"]
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    running = max(1, year["running"])
    result = {
        "schools": args.schools,
        "schools_running": year["running"],
        "page_merging": args.page_merging,
        "step_days": args.step_days,
        "merging_pass_waited_seconds": round(year["merging_waited"], 1),
        # passes the controller had ended when the year began (None: it runs none)
        "merging_passes_before_the_year": year["merging_passes"],
        "advances": year["steps"],
        "backups_made": year["backups"],
        "archives_made": year["archives"],
        "files_written": year["files_written"],
        "baseline_files_written": baseline_written,
        "files_on_disk": year["files_on_disk"],
        "july_archives": year["july"],
        "august_switches": year["switches"],
        "year_wall_seconds": round(year["wall_seconds"], 1),
        "baseline_same_backups_one_process_seconds": round(baseline, 1),
        "year_vs_baseline": round(year["wall_seconds"] / baseline, 2) if baseline else None,
        "year_seconds_per_school": round(year["wall_seconds"] / running, 3),
        "baseline_seconds_per_school": round(baseline / running, 3),
        "year_cpu_seconds_per_school": {
            kind: round(seconds / running, 3) for kind, seconds in year["cpu_seconds"].items()
        },
        "year_cpu_seconds_per_school_in_all": round(
            (year["cpu_seconds"]["controller"] + year["cpu_seconds"]["schools"]) / running, 3
        ),
        "baseline_cpu_seconds_per_school": round(baseline_cpu / running, 3),
        # everything else the cores did meanwhile (this client, kernel threads: softirqs of
        # the loopback traffic, writeback, the page scanners; other users' work): what the
        # year's wall time shared the machine with
        "machine_cpu_seconds_per_school_besides_the_fleet": round(
            (
                year["cpu_seconds"]["machine_busy"]
                - year["cpu_seconds"]["controller"]
                - year["cpu_seconds"]["schools"]
            )
            / running,
            3,
        ),
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "target_seconds_for_100": TARGET_SECONDS,
    }
    print_figures(result, args.json)


if __name__ == "__main__":
    main()
