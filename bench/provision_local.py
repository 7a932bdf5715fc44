"""Provisioning on the local runtime, side by side with fresh interpreters (DESIGN decision 4).

`python -m bench.provision_local [--schools N] [--parallelism P] [--json]` measures, in one run:

1. baseline: N fresh `python -c "import grpc"` processes, P at a time, wall time until all have
   exited (and their CPU time);
   floor (`--no-floor` leaves it out): N bare `grpc.aio` servers, one on each of the pool's
   first N addresses, forked one after the other from a parent with the schools' warm imports
   (`bench.bare_servers`), wall time until all serve and their CPU: what a wave cannot go
   below on this machine, whatever pronote-dc does (DESIGN decision 49); no target;
2. pronote-dc: a controller (`pronote-dc up`) on a fresh state directory and a fresh loopback
   /24, N schools provisioned through the Console API (ProvisionSchool), P requests in flight,
   wall time from the first request until EVERY school answers the standard gRPC health check
   on its own address, port 49300;
3. memory: PSS of each school process, of the warm parent (zygote) and of the controller.

Targets: provisioning <= 0.25x the baseline wall time; mean PSS per school <= 10 MiB.
Everything stays on loopback, every phase is bounded by --timeout, and the controller, the
schools and the temporary directory are removed at the end, on error and on Ctrl-C too
(`pronote-dc down`, then a kill of anything that survived it). Inherited PRONOTE_DC_*
variables are ignored: the run sets its own state directory, console address and pool.
Progress goes to stderr; the table (or the JSON) to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import resource
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

import grpc
import psutil

from bench import page_faults, up_demo
from bench.fleet_cpu import machine_cpu, process_cpu
from bench.local_fleet import (
    CHANNEL_OPTIONS,
    FIRST_UAI_DIGITS,
    MAX_SCHOOLS,
    MIB,
    POOL_SECOND_OCTET,
    BenchFailure,
    Interrupted,
    Run,
    SchoolTimes,
    _zygote_pid_file,
    cleanup,
    find_pronote_dc,
    find_zygote,
    ksmd_cpu_seconds,
    measure_floor,
    merge_passes,
    pick_address_pool,
    provision_all,
    start_controller,
    wait_merged,
    wait_serving,
)
from bench.running import say
from common.processes import PidFile
from datacenter.core.uai import make_uai

__all__ = [  # what the Docker and Swarm benchmarks take from here
    "CHANNEL_OPTIONS",
    "BenchFailure",
    "Run",
    "find_pronote_dc",
    "provision_all",
    "start_controller",
    "wait_serving",
]
RATIO_TARGET = 0.25
PSS_TARGET_MIB = 10.0
# The merging pass after 2000 schools: ~3 full scans of ~6M pages at ~half a core.
MERGE_TIMEOUT_SECONDS = 900.0


# -- phase 1: the baseline -------------------------------------------------------------------


@dataclass(frozen=True)
class Baseline:
    wall_seconds: float
    cpu_seconds: float


async def measure_baseline(count: int, parallelism: int) -> Baseline:
    limit = asyncio.Semaphore(parallelism)
    failures: list[str] = []

    async def one() -> None:
        async with limit:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                "import grpc",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
            _, stderr = await process.communicate()
            if process.returncode != 0:
                failures.append(stderr.decode(errors="replace").strip()[-300:])

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(count)))
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if failures:
        raise BenchFailure(f'{len(failures)} `python -c "import grpc"` failed: {failures[0]}')
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Baseline(wall, cpu)


# -- phase 3: memory, CPU and where the time went ---------------------------------------------


@dataclass(frozen=True)
class Memory:
    school_pss_mib: list[float]
    school_uss_mib: list[float]
    school_rss_mib: list[float]
    zygote_pss_mib: float
    controller_pss_mib: float


def _cpu_seconds(process: Any) -> float:
    times = process.cpu_times()
    return float(times.user + times.system + times.children_user + times.children_system)


def measure_memory(run: Run, uais: Sequence[str]) -> Memory:
    assert run.controller_pid is not None
    pss, uss, rss = [], [], []
    for uai in uais:
        pid_file = PidFile.read(run.state_dir / "schools" / uai / "agent.pid")
        if pid_file is None or not pid_file.is_alive():
            raise BenchFailure(f"school {uai} has no live process behind its agent.pid")
        process = psutil.Process(pid_file.pid)
        info = process.memory_full_info()
        pss.append(info.pss / MIB)
        uss.append(info.uss / MIB)
        rss.append(info.rss / MIB)
    zygote = find_zygote(run.controller_pid)
    controller = psutil.Process(run.controller_pid)
    return Memory(
        school_pss_mib=pss,
        school_uss_mib=uss,
        school_rss_mib=rss,
        zygote_pss_mib=zygote.memory_full_info().pss / MIB,
        controller_pss_mib=controller.memory_full_info().pss / MIB,
    )


@dataclass(frozen=True)
class WaveCpu:
    """CPU seconds read the moment the wave is healthy: before the same-page merging pass
    asks every school to mark its pages (3 s later at the earliest, decision 40), whose work
    is not the wave's (read later, the schools' CPU counted a part of it that grew with the
    time the memory reading took: 57 s of 121 at 2000 schools)."""

    schools: float  # their threads' time on a CPU, to the ns (clock ticks round a school down)
    schools_system: float  # in the kernel (page faults mostly), in clock ticks: a lower bound
    schools_minor_faults: float
    zygote: float  # over the wave (it starts with the controller), its reaped children too
    page_scanners: float  # since `since` was read: ksmd's and DAMON's kdamond threads
    machine_busy: float  # since `since`: every CPU's non-idle time


def wave_cpu(run: Run, uais: Sequence[str], since: dict[str, float]) -> WaveCpu:
    """The CPU of the schools of `uais` (their agent.pid) now, and since `since` (`machine_cpu()`
    and the warm parent's "zygote" CPU, read before the wave) the warm parent's and the
    machine's."""
    assert run.controller_pid is not None
    schools = [
        process_cpu(pid_file.pid)
        for uai in uais
        if (pid_file := PidFile.read(run.state_dir / "schools" / uai / "agent.pid")) is not None
    ]
    machine = machine_cpu()
    return WaveCpu(
        schools=sum(school["on_cpu"] for school in schools),
        schools_system=sum(school["system"] for school in schools),
        schools_minor_faults=sum(school["minor_faults"] for school in schools),
        zygote=_cpu_seconds(find_zygote(run.controller_pid)) - since["zygote"],
        page_scanners=machine["page_scanners"] - since["page_scanners"],
        machine_busy=machine["machine_busy"] - since["machine_busy"],
    )


PHASES = (
    ("request -> agent.json written", "controller: checks, registry, lease, config"),
    ("agent.json -> school forked", "controller -> warm parent -> fork"),
    ("forked -> school ready", "school: gRPC servers, state, pid file"),
    ("ready -> reply received", "controller: readiness, health check, reply"),
    ("reply -> healthy on :49300", "client: health check"),
)


def phase_durations(run: Run, school: SchoolTimes) -> list[float]:
    """Seconds spent in each of PHASES, from the client's clock and the school's files."""
    school_dir = run.state_dir / "schools" / school.uai
    configured = (school_dir / "agent.json").stat().st_mtime
    ready = (school_dir / "agent.pid").stat().st_mtime
    pid_file = PidFile.read(school_dir / "agent.pid")
    assert pid_file is not None
    forked = _started_at(pid_file.start_ticks)
    instants = [school.requested, configured, forked, ready, school.answered, school.healthy]
    return [later - earlier for earlier, later in itertools.pairwise(instants)]


def _started_at(start_ticks: int) -> float:
    """The time.time() at which a process started, to a clock tick (psutil's create_time()
    rounds the boot time to the second)."""
    with open("/proc/uptime", encoding="ascii") as uptime:
        up_seconds = float(uptime.read().split()[0])
    now = time.time()
    return now - up_seconds + start_ticks / os.sysconf("SC_CLK_TCK")


def _percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _summary(values: Sequence[float]) -> dict[str, float]:
    return {
        "p50": _percentile(values, 0.5),
        "p95": _percentile(values, 0.95),
        "max": max(values),
        "mean": statistics.fmean(values),
    }


# -- the whole benchmark ---------------------------------------------------------------------


async def bench(args: argparse.Namespace, run: Run) -> dict[str, Any]:
    count, parallelism, timeout = args.schools, args.parallelism, args.timeout
    load_at_start = os.getloadavg()[0]
    pool = pick_address_pool(args.pool_octet, count)
    uais = [make_uai(f"{FIRST_UAI_DIGITS + i:07d}") for i in range(count)]

    faults_at_start = await page_faults.measure()
    baseline_count = args.baseline_schools or count
    say(f'baseline: {baseline_count} x `python -c "import grpc"`, {parallelism} at a time…')
    try:
        baseline = await asyncio.wait_for(measure_baseline(baseline_count, parallelism), timeout)
    except TimeoutError:
        raise BenchFailure(f"the baseline did not finish within {timeout:.0f} s") from None
    say(f"  {baseline.wall_seconds:.2f} s")
    floor = await measure_floor(pool, count, timeout) if args.floor else None

    say(f"starting `pronote-dc up` (state in {run.state_dir}, pool {pool})…")
    started = time.perf_counter()
    console_address = await start_controller(run, pool, timeout)
    controller_start_seconds = time.perf_counter() - started
    token = (run.state_dir / "operator.token").read_text(encoding="utf-8").strip()
    assert run.controller_pid is not None
    controller = psutil.Process(run.controller_pid)
    controller_cpu_before = _cpu_seconds(controller)
    machine_before = {**machine_cpu(), "zygote": _cpu_seconds(find_zygote(run.controller_pid))}

    say(f"provisioning {count} schools through {console_address}, {parallelism} in flight…")
    provisioning = await provision_all(
        console_address, token, uais, parallelism, timeout, args.demo
    )
    provisioning.controller_cpu_seconds = _cpu_seconds(controller) - controller_cpu_before
    run.zygote = _zygote_pid_file(run.controller_pid)
    failures = provisioning.failures
    if failures:
        healthy = count - len(failures)
        what = (
            f"provisioning did not finish within {timeout:.0f} s (--timeout)"
            if provisioning.wall_seconds >= timeout
            else "provisioning failed"
        )
        shown = "\n".join(f"  {school.uai}: {school.error}" for school in failures[:5])
        raise BenchFailure(
            f"{what}: {healthy}/{count} schools provisioned and healthy; the others:\n{shown}\n"
            f"controller log:\n{run.log_tail()}"
        )
    # First what the merging pass changes, then the wave's CPU: the controller asks the
    # schools to mark their pages 3 s after the last one started (decision 40), and from then
    # on the machine is theirs for a minute at 2000 schools (its /metrics then answered late).
    passes_before = merge_passes(run)  # the pass for these schools starts once they are up
    cpu = wave_cpu(run, uais, machine_before)
    faults_at_end = await page_faults.measure()
    say(f"  {provisioning.wall_seconds:.2f} s; measuring memory…")
    ksmd_before = ksmd_cpu_seconds()
    memory = measure_memory(run, uais)
    say("  waiting for the same-page merging pass (DESIGN decision 35)…")
    merge_seconds, merging_off = await wait_merged(run, passes_before, MERGE_TIMEOUT_SECONDS)
    merged = None if merging_off else measure_memory(run, uais)
    phases = [phase_durations(run, school) for school in provisioning.schools]
    latencies = [school.answered - school.requested for school in provisioning.schools]

    # Per school, so that a smaller baseline (--baseline-schools) compares like with like.
    ratio = (provisioning.wall_seconds / count) / (baseline.wall_seconds / baseline_count)
    mean_pss = statistics.fmean(memory.school_pss_mib)
    pronote_cpu = provisioning.controller_cpu_seconds + cpu.zygote + cpu.schools
    return {
        "schools": count,
        "demo": args.demo,
        "parallelism": parallelism,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "grpcio": grpc.__version__,
            "load_average_1min": {"start": load_at_start, "end": os.getloadavg()[0]},
            "page_faults_us": {"start": faults_at_start, "end": faults_at_end},
            "busy_cpu_seconds": cpu.machine_busy,
            "page_scanners_cpu_seconds": cpu.page_scanners,
        },
        "address_pool": pool,
        "baseline": {
            "processes": baseline_count,
            "wall_seconds": baseline.wall_seconds,
            "cpu_seconds": baseline.cpu_seconds,
        },
        "floor": None
        if floor is None
        else {
            "servers": count,
            **asdict(floor),
            "ratio": provisioning.wall_seconds / floor.wall_seconds,
        },
        "controller_start_seconds": controller_start_seconds,
        "provisioning": {
            "wall_seconds": provisioning.wall_seconds,
            "schools_per_second": count / provisioning.wall_seconds,
            "cpu_seconds": pronote_cpu,
            "cpu_seconds_controller": provisioning.controller_cpu_seconds,
            "cpu_seconds_zygote": cpu.zygote,
            "cpu_seconds_schools": cpu.schools,
            "cpu_seconds_schools_system": cpu.schools_system,
            "minor_faults_per_school": cpu.schools_minor_faults / count,
            "cpu_seconds_client": provisioning.client_cpu_seconds,
            "request_latency_seconds": _summary(latencies),
            "first_request_seconds": latencies[0],
            "phases_seconds": {
                name: _summary([durations[i] for durations in phases])
                for i, (name, _) in enumerate(PHASES)
            },
        },
        "ratio": ratio,
        "ratio_target": RATIO_TARGET,
        "ratio_pass": ratio <= RATIO_TARGET,
        "memory_mib": {
            "school_pss_mean": mean_pss,
            "school_pss_max": max(memory.school_pss_mib),
            "school_pss_total": sum(memory.school_pss_mib),
            "school_uss_mean": statistics.fmean(memory.school_uss_mib),
            "school_rss_mean": statistics.fmean(memory.school_rss_mib),
            "zygote_pss": memory.zygote_pss_mib,
            "controller_pss": memory.controller_pss_mib,
        },
        "pss_target_mib": PSS_TARGET_MIB,
        "pss_pass": mean_pss <= PSS_TARGET_MIB,
        "total_pss_gib": total_gib(memory),
        "merged": None
        if merged is None
        else {
            "seconds_after_ready": merge_seconds,
            "ksmd_cpu_seconds": ksmd_cpu_seconds() - ksmd_before,
            "school_pss_mean_mib": statistics.fmean(merged.school_pss_mib),
            "total_pss_gib": total_gib(merged),
        },
        "merging_off": merging_off,
    }


def total_gib(memory: Memory) -> float:
    """PSS of the schools, the warm parent and the controller: the fleet's memory in all."""
    return (sum(memory.school_pss_mib) + memory.zygote_pss_mib + memory.controller_pss_mib) / 1024


def _floor_rows(floor: dict[str, Any] | None) -> list[tuple[str, str, str, str]]:
    if floor is None:
        return []
    return [
        (
            f"floor: {floor['servers']} bare grpc.aio servers forked, serving",
            f"{floor['wall_seconds']:.2f} s",
            "",
            "",
        ),
        (
            f"  CPU time, all processes (forks {floor['fork_cpu_seconds']:.2f} s)",
            f"{floor['cpu_seconds']:.2f} s",
            "",
            "",
        ),
    ]


def render(report: dict[str, Any]) -> str:
    base, prov, mem = report["baseline"], report["provisioning"], report["memory_mib"]
    n, p = report["schools"], report["parallelism"]
    machine = report["machine"]
    load = machine["load_average_1min"]

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "MISS"

    rows = [
        (
            f'baseline: {base["processes"]} x python -c "import grpc"',
            f"{base['wall_seconds']:.2f} s",
            "",
            "",
        ),
        ("  CPU time, all processes", f"{base['cpu_seconds']:.2f} s", "", ""),
        *_floor_rows(report["floor"]),
        (
            f"pronote-dc: {n} {'demo ' if report['demo'] else ''}schools provisioned, healthy",
            f"{prov['wall_seconds']:.2f} s",
            "",
            "",
        ),
        (
            "  CPU time (controller+zygote+schools)",
            f"{prov['cpu_seconds']:.2f} s",
            "",
            "",
        ),
        (
            "ratio pronote-dc / baseline, per school",
            f"{report['ratio']:.3f}x",
            f"<= {report['ratio_target']}x",
            verdict(report["ratio_pass"]),
        ),
        *(
            [("pronote-dc / floor", f"{report['floor']['ratio']:.2f}x", "", "")]
            if report["floor"]
            else []
        ),
        (
            "mean PSS per school",
            f"{mem['school_pss_mean']:.2f} MiB",
            f"<= {report['pss_target_mib']:.0f} MiB",
            verdict(report["pss_pass"]),
        ),
        ("total PSS of the schools", f"{mem['school_pss_total']:.1f} MiB", "", ""),
        (
            "memory in all (schools, warm parent, controller)",
            f"{report['total_pss_gib']:.2f} GiB",
            "",
            "",
        ),
        ("warm parent (zygote) PSS", f"{mem['zygote_pss']:.1f} MiB", "", ""),
        ("controller PSS", f"{mem['controller_pss']:.1f} MiB", "", ""),
    ]
    merged = report["merged"]
    if merged is None:
        rows.append(("same-page merging did not run", report["merging_off"], "", ""))
    else:
        rows += [
            (
                f"after the merging pass ({merged['seconds_after_ready']:.0f} s later, "
                f"ksmd CPU {merged['ksmd_cpu_seconds']:.1f} s)",
                "",
                "",
                "",
            ),
            ("  mean PSS per school", f"{merged['school_pss_mean_mib']:.2f} MiB", "", ""),
            ("  memory in all", f"{merged['total_pss_gib']:.2f} GiB", "", ""),
        ]
    width = max(len(row[0]) for row in rows)
    lines = [
        f"pronote-dc local provisioning — N={n} schools, P={p} in flight; {machine['cpus']} CPUs, "
        f"Python {machine['python']}, grpcio {machine['grpcio']}",
        f"load average (1 min) {load['start']:.1f} at the start, {load['end']:.1f} at the end"
        " (other work on the machine makes every figure noisier; the ratio less so)",
        "",
        f"{'':{width}}  {'figure':>12}  {'target':>11}",
    ]
    lines += [f"{a:{width}}  {b:>12}  {c:>11}  {d}".rstrip() for a, b, c, d in rows]
    latency = prov["request_latency_seconds"]
    lines += [
        "",
        f"controller start {report['controller_start_seconds']:.2f} s (not counted); "
        f"{prov['schools_per_second']:.1f} schools/s",
        f"ProvisionSchool latency p50 {latency['p50'] * 1000:.0f} ms, p95 "
        f"{latency['p95'] * 1000:.0f} ms, max {latency['max'] * 1000:.0f} ms; the first one "
        f"{prov['first_request_seconds'] * 1000:.0f} ms",
        f"CPU: controller {prov['cpu_seconds_controller']:.2f} s, zygote "
        f"{prov['cpu_seconds_zygote']:.2f} s, schools {prov['cpu_seconds_schools']:.2f} s "
        f"({prov['cpu_seconds_schools_system']:.2f} s in the kernel, "
        f"{prov['minor_faults_per_school']:.0f} page faults a school); "
        f"benchmark client {prov['cpu_seconds_client']:.2f} s",
        f"the machine: {machine['busy_cpu_seconds']:.1f} CPU s busy over the wave, of which "
        f"the kernel's page scanners (ksmd, DAMON) {machine['page_scanners_cpu_seconds']:.1f} s; "
        f"page faults: {page_faults.per_page(machine['page_faults_us']['start'])} at the start, "
        f"{page_faults.per_page(machine['page_faults_us']['end'])} at the end (bench.page_faults)",
        f"per school: USS {mem['school_uss_mean']:.2f} MiB, RSS {mem['school_rss_mean']:.1f} MiB,"
        f" PSS max {mem['school_pss_max']:.2f} MiB",
        "",
        f"{'where the time of one school goes (ms)':<32}  {'p50':>6} {'p95':>6} {'max':>6}",
    ]
    for name, meaning in PHASES:
        s = prov["phases_seconds"][name]
        lines.append(
            f"  {name:<30}  {s['p50'] * 1000:6.0f} {s['p95'] * 1000:6.0f} {s['max'] * 1000:6.0f}"
            f"  {meaning}"
        )
    return "\n".join(lines)


def _on_sigterm(signum: int, frame: FrameType | None) -> NoReturn:
    raise Interrupted()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.provision_local",
        description="Provision schools on the local runtime, beside fresh interpreters.",
    )
    parser.add_argument("--schools", type=int, default=200, help="schools to provision (200)")
    parser.add_argument("--parallelism", type=int, default=16, help="requests in flight (16)")
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="bound on each phase, in seconds (120)"
    )
    parser.add_argument(
        "--baseline-schools",
        type=int,
        default=0,
        help="fresh interpreters in the baseline (default: as many as schools); the ratio is "
        "then per school",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="`pronote-dc up --demo N` beside N plain schools, in one run (bench.up_demo)",
    )
    parser.add_argument(
        "--pool-octet",
        type=int,
        default=POOL_SECOND_OCTET,
        help=f"schools on 127.<this>.x.0/24 ({POOL_SECOND_OCTET})",
    )
    parser.add_argument(
        "--no-floor",
        dest="floor",
        action="store_false",
        help="leave out the floor (N bare grpc.aio servers forked from the warm imports)",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.schools <= MAX_SCHOOLS:
        parser.error(f"--schools must be between 1 and {MAX_SCHOOLS}")
    if not 1 <= args.pool_octet <= 254:
        parser.error("--pool-octet must be between 1 and 254 (schools on 127.<it>.x.y)")
    if args.parallelism < 1:
        parser.error("--parallelism must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    run: Run | None = None
    code = 0
    try:
        if args.demo:  # two fleets, each with its own run and clean-up (bench.up_demo)
            report = asyncio.run(up_demo.compare(args, find_pronote_dc()))
            shown = json.dumps(report, indent=2) if args.json else up_demo.render(report)
        else:
            run = Run(find_pronote_dc())
            run.tmp_dir = Path(tempfile.mkdtemp(prefix="pronote-dc-bench-"))
            report = asyncio.run(bench(args, run))
            shown = json.dumps(report, indent=2) if args.json else render(report)
        print(shown, flush=True)
    except BenchFailure as error:
        say(f"benchmark failed: {error}")
        code = 1
    except (KeyboardInterrupt, Interrupted):
        say("interrupted")
        code = 130
    finally:
        if run is not None:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # cleanup runs to its end
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            for problem in cleanup(run):
                say(f"cleanup: {problem}")
                code = code or 1
    return code


if __name__ == "__main__":
    sys.exit(main())
