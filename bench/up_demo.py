"""`pronote-dc up --demo N` beside N plain schools measured in the same run (issue 15).

`python -m bench.provision_local --demo --schools N [--parallelism P] [--json]` runs:

1. plain: a controller (`pronote-dc up`) on a fresh state directory and N plain schools
   provisioned through the Console API (ProvisionSchool, P in flight), from the first request
   until the last school answers its health check (as without --demo);
2. demo: `pronote-dc up --demo N` on another fresh state directory (P in flight:
   PRONOTE_DC_PROVISION_PARALLELISM), from its launch until it prints "ready." (every demo
   school has its base in service and its sample accounts); the controller's own start is
   printed apart, so provisioning compares with 1.

For each: the PSS of every school process, of the warm parent (and of its demo population
worker if it has not ended yet, DESIGN decision 41) and of the controller, read from
/proc/<pid>/smaps_rollup at ready; the fleet's CPU time over the provisioning, the sum of the
controller's, the warm parent's and the schools', each with its children's, read once the
population worker has ended (the warm parent reaps its helpers and that worker: their time is
then in its children's time), which the 2x target compares; and, beside it, the machine's CPU
time (/proc/stat) less this benchmark's own, which also counts any other work (hence the load
average). Each fleet is torn down (`pronote-dc down`) before the next.

Targets (issue 15): a demo school <= 2x a plain school's CPU; at N=1000 `up --demo` ready
in <= 30 s and <= 7.5 GiB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil
from prometheus_client.parser import text_string_to_metric_families

from bench.fleet_cpu import process_cpu
from bench.local_fleet import (
    MIB,
    BenchFailure,
    Run,
    cleanup,
    find_zygote,
    ksmd_cpu_seconds,
    measure_floor,
    merge_passes,
    pick_address_pool,
    population_workers,
    provision_all,
    start_controller,
    wait_merged,
    wait_population_workers_gone,
)
from bench.running import say
from common.processes import PidFile
from datacenter.core.uai import make_uai

GIB = 1024 * MIB
CPU_RATIO_TARGET = 2.0
IDLE_SECONDS = 5.0
DEMO_TARGET_SCHOOLS = 1000
DEMO_TARGET_SECONDS = 30.0
DEMO_TARGET_GIB = 7.5
READY_LINE = "ready. Try"
FAILED_LINE = "demo school failed"
FIRST_UAI_DIGITS = 9_200_000  # plain schools; `up --demo` chooses its own UAIs


@dataclass
class Fleet:
    """One provisioned fleet's figures."""

    schools: int
    wall_seconds: float  # provisioning only
    start_seconds: float  # the controller's start, before the provisioning
    machine_cpu_seconds: float  # over the provisioning, less this benchmark's own
    controller_cpu_seconds: float  # over the provisioning
    zygote_cpu_seconds: float  # over the provisioning
    schools_cpu_seconds: float  # the schools' whole lives (all began in the provisioning)
    # As the schools' helpers measured themselves: already in the warm parent's (it reaps
    # them) or a school's (a fresh interpreter it waited for) children's time, so not added.
    helpers_cpu_seconds: float
    # What the schools already made cost while the others were provisioned, doing nothing:
    # the fleet's idle CPU rate just after (IDLE_SECONDS), per school, times the seconds each
    # school had lived by the measurement (a slower run pays more of it).
    idle_cpu_seconds: float
    school_pss_mib: list[float]
    zygote_pss_mib: float
    controller_pss_mib: float
    # The warm parent's demo population worker at ready, if it had not ended yet (decision 41)
    population_worker_pss_mib: float = 0.0
    # The same, once the controller's same-page merging pass is done (DESIGN decision 35);
    # None where it does not run (merging_off says why).
    merged_total_pss_mib: float | None = None
    merge_seconds: float = 0.0  # after the measurement at ready
    ksmd_cpu_seconds: float = 0.0
    merging_off: str = ""

    @property
    def total_pss_mib(self) -> float:
        return (
            sum(self.school_pss_mib)
            + self.zygote_pss_mib
            + self.population_worker_pss_mib
            + self.controller_pss_mib
        )

    @property
    def cpu_seconds(self) -> float:
        """The fleet's own CPU: controller, warm parent, schools and their helpers."""
        return self.controller_cpu_seconds + self.zygote_cpu_seconds + self.schools_cpu_seconds

    @property
    def cpu_ms_per_school(self) -> float:
        return self.cpu_seconds / self.schools * 1000

    @property
    def busy_cpu_ms_per_school(self) -> float:
        """The fleet's CPU per school less the estimated idle cost."""
        return (self.cpu_seconds - self.idle_cpu_seconds) / self.schools * 1000


def machine_cpu_seconds() -> float:
    """CPU time every process of the machine has used since boot (all CPUs, /proc/stat)."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    busy = sum(fields[:8]) - fields[3] - fields[4]  # all but idle and iowait
    return busy / os.sysconf("SC_CLK_TCK")


def pss_mib(pid: int) -> float:
    """The process's proportional set size, from /proc/<pid>/smaps_rollup."""
    with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as rollup:
        for line in rollup:
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    raise BenchFailure(f"/proc/{pid}/smaps_rollup has no Pss line")


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system + times.children_user + times.children_system)


@dataclass(frozen=True)
class Started:
    """The instant provisioning began: the controller is up, its warm parent too."""

    at: float  # time.perf_counter()
    start_seconds: float  # the controller's start before it
    machine_cpu: float
    controller_cpu: float
    zygote_cpu: float


def started(run: Run, launched: float) -> Started:
    assert run.controller_pid is not None
    return Started(
        at=time.perf_counter(),
        start_seconds=time.perf_counter() - launched,
        machine_cpu=machine_cpu_seconds(),
        controller_cpu=_cpu(psutil.Process(run.controller_pid)),
        zygote_cpu=_cpu(find_zygote(run.controller_pid)),
    )


def _helpers_cpu_seconds(school_dir: Path) -> float:
    """What the school's /metrics says its helpers used (pronote_school_helpers_cpu_seconds)."""
    config = json.loads((school_dir / "agent.json").read_text(encoding="utf-8"))
    url = f"http://{config['address']}:{config['metrics_port']}/metrics"
    with urllib.request.urlopen(url, timeout=10) as page:
        text = page.read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "pronote_school_helpers_cpu_seconds_total"
    )


def _started_at(start_ticks: int) -> float:
    """time.time() at which a process started (its start ticks since boot)."""
    with open("/proc/uptime", encoding="ascii") as uptime:
        up_seconds = float(uptime.read().split()[0])
    return time.time() - up_seconds + start_ticks / os.sysconf("SC_CLK_TCK")


def _long_lived_cpu(processes: list[psutil.Process]) -> float:
    return sum(_cpu(process) for process in processes)


async def measure_fleet(run: Run, begun: Started, machine_cpu: float) -> Fleet:
    """PSS and CPU of every school process found by its agent.pid and of its helpers, of the
    warm parent and of the controller; then the fleet's idle CPU rate over IDLE_SECONDS."""
    assert run.controller_pid is not None
    wall = time.perf_counter() - begun.at
    passes_before = merge_passes(run)
    ksmd_before = ksmd_cpu_seconds()
    measured_at = time.time()
    controller, zygote = psutil.Process(run.controller_pid), find_zygote(run.controller_pid)
    # The demo population worker, still there for 1 s after the last population: its memory
    # counts at ready, its CPU once it has ended (then in the warm parent's children's time).
    worker_pss = sum(pss_mib(worker.pid) for worker in population_workers(zygote))
    await asyncio.to_thread(wait_population_workers_gone, zygote)
    controller_cpu, zygote_cpu = _cpu(controller), _cpu(zygote)
    school_pss, schools_cpu, lived = [], 0.0, 0.0
    schools: list[psutil.Process] = []
    school_dirs = sorted(path.parent for path in (run.state_dir / "schools").glob("*/agent.pid"))
    for school_dir in school_dirs:
        pid_file = PidFile.read(school_dir / "agent.pid")
        if pid_file is None or not pid_file.is_alive():
            raise BenchFailure(f"{school_dir.name} has no live process behind its agent.pid")
        school_pss.append(pss_mib(pid_file.pid))
        schools.append(psutil.Process(pid_file.pid))
        # to the ns: in clock ticks, each school's ~10-50 ms would be rounded down (~6 ms)
        reaped = schools[-1].cpu_times()
        schools_cpu += process_cpu(pid_file.pid)["on_cpu"]
        schools_cpu += reaped.children_user + reaped.children_system
        lived += max(0.0, measured_at - _started_at(pid_file.start_ticks))
    every = [controller, zygote, *schools]
    before = _long_lived_cpu(every)
    await asyncio.sleep(IDLE_SECONDS)
    idle_rate = (_long_lived_cpu(every) - before) / IDLE_SECONDS / max(len(schools), 1)
    say("  waiting for the same-page merging pass…")
    merge_seconds, merging_off = await wait_merged(run, passes_before, 900.0)
    merged = None
    if not merging_off:
        merged = sum(pss_mib(school.pid) for school in schools)
        merged += pss_mib(zygote.pid) + pss_mib(run.controller_pid)
    # Last: a school's first /metrics scrape builds its HTTP server (~2.5 MiB, docs/memory.md).
    with ThreadPoolExecutor(8) as scrapers:
        helpers_cpu = sum(scrapers.map(_helpers_cpu_seconds, school_dirs))
    return Fleet(
        schools=len(school_pss),
        wall_seconds=wall,
        start_seconds=begun.start_seconds,
        machine_cpu_seconds=machine_cpu,
        controller_cpu_seconds=controller_cpu - begun.controller_cpu,
        zygote_cpu_seconds=zygote_cpu - begun.zygote_cpu,
        schools_cpu_seconds=schools_cpu,
        helpers_cpu_seconds=helpers_cpu,
        idle_cpu_seconds=idle_rate * lived,
        school_pss_mib=school_pss,
        zygote_pss_mib=pss_mib(zygote.pid),
        population_worker_pss_mib=worker_pss,
        controller_pss_mib=pss_mib(run.controller_pid),
        merged_total_pss_mib=merged,
        merge_seconds=merge_seconds + IDLE_SECONDS,
        ksmd_cpu_seconds=ksmd_cpu_seconds() - ksmd_before,
        merging_off=merging_off,
    )


async def plain_fleet(run: Run, count: int, parallelism: int, args: argparse.Namespace) -> Fleet:
    pool = pick_address_pool(args.pool_octet, count)
    say(f"plain: `pronote-dc up` (pool {pool}), {count} schools, {parallelism} in flight…")
    launched = time.perf_counter()
    console_address = await start_controller(run, pool, args.timeout)
    token = (run.state_dir / "operator.token").read_text(encoding="utf-8").strip()
    uais = [make_uai(f"{FIRST_UAI_DIGITS + i:07d}") for i in range(count)]
    begun = started(run, launched)
    provisioning = await provision_all(console_address, token, uais, parallelism, args.timeout)
    machine = machine_cpu_seconds() - begun.machine_cpu - provisioning.client_cpu_seconds
    if provisioning.failures:
        school = provisioning.failures[0]
        raise BenchFailure(
            f"{len(provisioning.failures)} plain schools failed, e.g. {school.uai}: "
            f"{school.error}\n{run.log_tail()}"
        )
    say(f"  {provisioning.wall_seconds:.2f} s; measuring memory…")
    fleet = await measure_fleet(run, begun, machine)
    fleet.wall_seconds = provisioning.wall_seconds  # the client's: until the last is healthy
    return fleet


async def demo_fleet(run: Run, count: int, parallelism: int, args: argparse.Namespace) -> Fleet:
    """`pronote-dc up --demo N`, timed from its launch to its "ready." line."""
    assert run.tmp_dir is not None
    pool = pick_address_pool(args.pool_octet, count)
    say(f"demo: `pronote-dc up --demo {count}` (pool {pool}), {parallelism} in flight…")
    env = {**run.env(pool), "PRONOTE_DC_PROVISION_PARALLELISM": str(parallelism)}
    launched = time.perf_counter()
    with run.controller_log.open("wb") as log:
        run.controller = subprocess.Popen(
            [run.pronote_dc, "up", "--demo", str(count)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    run.controller_pid = run.controller.pid
    info_path = run.state_dir / "controller.json"
    begun: Started | None = None
    deadline = launched + args.timeout
    while True:
        await asyncio.sleep(0.05)
        now = time.perf_counter()
        if begun is None and info_path.exists():  # started: provisioning from here
            begun = started(run, launched)
        text = run.controller_log.read_text(encoding="utf-8", errors="replace")
        if READY_LINE in text:
            break
        if run.controller.poll() is not None:
            raise BenchFailure(f"`up --demo` exited before it was ready:\n{run.log_tail()}")
        if now > deadline:
            raise BenchFailure(f"`up --demo {count}` not ready in {args.timeout:.0f} s")
    ready = time.perf_counter()
    if begun is None:
        raise BenchFailure("`up --demo` was ready before it wrote controller.json")
    machine = machine_cpu_seconds() - begun.machine_cpu
    if FAILED_LINE in text:
        failed = text.count(FAILED_LINE)
        raise BenchFailure(f"{failed} demo schools failed:\n{run.log_tail()}")
    say(f"  ready {ready - launched:.2f} s after its launch; measuring memory…")
    fleet = await measure_fleet(run, begun, machine)
    fleet.wall_seconds = ready - begun.at
    return fleet


async def compare(args: argparse.Namespace, pronote_dc: str) -> dict[str, Any]:
    count, parallelism = args.schools, args.parallelism
    load_start = os.getloadavg()[0]
    floor = None
    if args.floor:
        floor = await measure_floor(pick_address_pool(args.pool_octet, count), count, args.timeout)
    fleets: dict[str, Fleet] = {}
    for kind, phase in (("plain", plain_fleet), ("demo", demo_fleet)):
        run = Run(pronote_dc, tmp_dir=Path(tempfile.mkdtemp(prefix="pronote-dc-bench-")))
        try:
            fleets[kind] = await phase(run, count, parallelism, args)
        finally:
            problems = await asyncio.to_thread(cleanup, run)
            for problem in problems:
                say(f"cleanup: {problem}")
            if problems:
                raise BenchFailure("a fleet was not torn down cleanly")
    plain, demo = fleets["plain"], fleets["demo"]
    cpu_ratio = demo.cpu_ms_per_school / plain.cpu_ms_per_school
    busy_ratio = demo.busy_cpu_ms_per_school / plain.busy_cpu_ms_per_school
    at_target_size = count == DEMO_TARGET_SCHOOLS
    demo_up_seconds = demo.start_seconds + demo.wall_seconds
    return {
        "schools": count,
        "parallelism": parallelism,
        "load_average_1min": {"start": load_start, "end": os.getloadavg()[0]},
        "plain": {
            **asdict(plain),
            "total_pss_mib": plain.total_pss_mib,
            "cpu_seconds": plain.cpu_seconds,
            "busy_cpu_ms_per_school": plain.busy_cpu_ms_per_school,
        },
        "demo": {
            **asdict(demo),
            "total_pss_mib": demo.total_pss_mib,
            "cpu_seconds": demo.cpu_seconds,
            "busy_cpu_ms_per_school": demo.busy_cpu_ms_per_school,
        },
        "demo_up_seconds": demo_up_seconds,
        "floor": None
        if floor is None
        else {
            "servers": count,
            **asdict(floor),
            # each fleet's provisioning (plain: through the Console API; demo: `up --demo`'s)
            "ratio_plain": plain.wall_seconds / floor.wall_seconds,
            "ratio_demo": demo.wall_seconds / floor.wall_seconds,
        },
        "cpu_ratio": cpu_ratio,
        "cpu_ratio_pass": cpu_ratio <= CPU_RATIO_TARGET,
        "busy_cpu_ratio": busy_ratio,
        "demo_up_pass": demo_up_seconds <= DEMO_TARGET_SECONDS if at_target_size else None,
        "demo_memory_pass": (
            demo.total_pss_mib <= DEMO_TARGET_GIB * 1024 if at_target_size else None
        ),
        "demo_merged_memory_pass": (
            demo.merged_total_pss_mib <= DEMO_TARGET_GIB * 1024
            if at_target_size and demo.merged_total_pss_mib is not None
            else None
        ),
    }


def merged_gib(fleet: dict[str, Any]) -> str:
    merged = fleet["merged_total_pss_mib"]
    return "not run" if merged is None else f"{merged / 1024:.2f} GiB"


def render(report: dict[str, Any]) -> str:
    plain, demo = report["plain"], report["demo"]
    n = int(report["schools"])
    load = report["load_average_1min"]

    def verdict(ok: bool | None) -> str:
        return "" if ok is None else ("PASS" if ok else "MISS")

    def per_school(fleet: dict[str, Any], key: str = "cpu_seconds") -> float:
        return float(fleet[key]) / n * 1000

    sized = n == DEMO_TARGET_SCHOOLS
    rows = [
        ("provisioning, wall", f"{plain['wall_seconds']:.2f} s", f"{demo['wall_seconds']:.2f} s"),
        (
            "controller start before it",
            f"{plain['start_seconds']:.2f} s",
            f"{demo['start_seconds']:.2f} s",
        ),
        (
            "`up --demo N` launch -> ready",
            "",
            f"{report['demo_up_seconds']:.2f} s",
            f"<= {DEMO_TARGET_SECONDS:.0f} s" if sized else "",
            verdict(report["demo_up_pass"]),
        ),
        *(
            [
                (
                    f"floor: {n} bare grpc.aio servers forked, serving",
                    f"{report['floor']['wall_seconds']:.2f} s",
                    "",
                ),
                ("  its CPU", f"{report['floor']['cpu_seconds']:.2f} s", ""),
                (
                    "provisioning / floor",
                    f"{report['floor']['ratio_plain']:.2f}x",
                    f"{report['floor']['ratio_demo']:.2f}x",
                ),
            ]
            if report["floor"]
            else []
        ),
        (
            "fleet CPU per school",
            f"{per_school(plain):.1f} ms",
            f"{per_school(demo):.1f} ms",
            f"x{report['cpu_ratio']:.2f} <= x{CPU_RATIO_TARGET:.0f}",
            verdict(report["cpu_ratio_pass"]),
        ),
        (
            "  less the idle cost of schools made",
            f"{plain['busy_cpu_ms_per_school']:.1f} ms",
            f"{demo['busy_cpu_ms_per_school']:.1f} ms",
            f"x{report['busy_cpu_ratio']:.2f}",
        ),
        (
            "  machine CPU per school",
            f"{per_school(plain, 'machine_cpu_seconds'):.1f} ms",
            f"{per_school(demo, 'machine_cpu_seconds'):.1f} ms",
        ),
        (
            "  controller CPU",
            f"{plain['controller_cpu_seconds']:.2f} s",
            f"{demo['controller_cpu_seconds']:.2f} s",
        ),
        (
            "  warm parent CPU",
            f"{plain['zygote_cpu_seconds']:.2f} s",
            f"{demo['zygote_cpu_seconds']:.2f} s",
        ),
        (
            "  schools CPU",
            f"{plain['schools_cpu_seconds']:.2f} s",
            f"{demo['schools_cpu_seconds']:.2f} s",
        ),
        (
            "  of which helpers",
            f"{plain['helpers_cpu_seconds']:.2f} s",
            f"{demo['helpers_cpu_seconds']:.2f} s",
        ),
        (
            "PSS: schools+warm parent(+worker)+controller",
            f"{plain['total_pss_mib'] / 1024:.2f} GiB",
            f"{demo['total_pss_mib'] / 1024:.2f} GiB",
            f"<= {DEMO_TARGET_GIB} GiB" if sized else "",
            verdict(report["demo_memory_pass"]),
        ),
        (
            "PSS in all, after the merging pass",
            merged_gib(plain),
            merged_gib(demo),
            f"<= {DEMO_TARGET_GIB} GiB" if sized else "",
            verdict(report["demo_merged_memory_pass"]),
        ),
        (
            "  seconds after ready; ksmd CPU",
            f"{plain['merge_seconds']:.0f}; {plain['ksmd_cpu_seconds']:.1f} s",
            f"{demo['merge_seconds']:.0f}; {demo['ksmd_cpu_seconds']:.1f} s",
        ),
        (
            "  mean PSS per school",
            f"{statistics.fmean(plain['school_pss_mib']):.2f} MiB",
            f"{statistics.fmean(demo['school_pss_mib']):.2f} MiB",
        ),
        (
            "  warm parent PSS",
            f"{plain['zygote_pss_mib']:.1f} MiB",
            f"{demo['zygote_pss_mib']:.1f} MiB",
        ),
        (
            "  population worker PSS at ready",
            f"{plain['population_worker_pss_mib']:.1f} MiB",
            f"{demo['population_worker_pss_mib']:.1f} MiB",
        ),
        (
            "  controller PSS",
            f"{plain['controller_pss_mib']:.1f} MiB",
            f"{demo['controller_pss_mib']:.1f} MiB",
        ),
    ]
    width = max(len(row[0]) for row in rows)
    lines = [
        f"pronote-dc: `up --demo {n}` beside {n} plain schools, {report['parallelism']} in "
        f"flight; {os.cpu_count()} CPUs",
        f"load average (1 min) {load['start']:.1f} at the start, {load['end']:.1f} at the end "
        "(the machine's CPU counts other work too)",
        "",
        f"{'':{width}}  {'plain':>11}  {'demo':>11}  {'target':>14}",
    ]
    for row in rows:
        name, plain_figure, demo_figure, *rest = row
        target, passed = [*rest, "", ""][:2]
        figures = f"{plain_figure:>11}  {demo_figure:>11}  {target:>14}  {passed}"
        lines.append(f"{name:{width}}  {figures}".rstrip())
    lines.append(
        "plain: provisioned through the Console API; demo: `pronote-dc up --demo N`, its "
        "provisioning timed from controller.json to its 'ready.' line"
    )
    return "\n".join(lines)
