"""Memory of a school process at fleet scale, beside bare gRPC servers forked the same way.

`python -m bench.school_memory [--schools N] [--demo] [--parallelism P] [--json]` measures,
in one run:

1. baseline: a warm parent that imports what the school's warm parent imports
   (`vm_agent.zygote`), freezes the GC and forks N children, each running a `grpc.aio` server
   with no service on its own loopback address: the floor of a school made this way;
2. pronote-dc: a controller (`pronote-dc up`) on a fresh state directory, N schools
   provisioned through the Console API (`--demo`: each with its demo base, sample accounts
   and synthetic school, its data unread), every one ready;
3. for every process of both: PSS from /proc/<pid>/smaps, in total (mean, p95) and by the
   kind of mapping its pages belong to (DESIGN decision 32, docs/memory.md), one second after
   the last school is ready;
4. the schools again once the controller's same-page merging pass is done (DESIGN decision
   35: its "page merging: pass done" log line), with the seconds it took and the CPU the
   kernel's `ksmd` spent; where it cannot run (not root, no KSM, PRONOTE_DC_PAGE_MERGING=off)
   the report says why.

PSS divides each shared page among the processes that map it, so both sides are measured
with the same N. Targets (issue 15): <= 7 MiB per plain school, <= 7.5 MiB per demo school,
at 1000 schools. Runs of more than 200 schools go under the machine's big-run lock:
`flock /tmp/pronote-dc-big.lock python -m bench.school_memory`. Everything stays on
loopback; the schools, the controller, the baseline's processes and the temporary directory
are removed at the end, on error and on Ctrl-C too.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import ipaddress
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from bench.addresses import free_pool
from bench.local_fleet import (
    CHANNEL_OPTIONS,
    BenchFailure,
    Run,
    bare_servers,
    cleanup,
    find_pronote_dc,
    ksmd_cpu_seconds,
    merge_passes,
    school_request,
    start_controller,
    wait_merged,
)
from bench.running import say
from bench.smaps import KIND_NOTES, KINDS, ProcessMemory, read_memory, summarize
from common.processes import PidFile
from datacenter.core.uai import make_uai
from protos import console_pb2_grpc

MAX_SCHOOLS = 2000
BIG_RUN_LOCK = "/tmp/pronote-dc-big.lock"  # the machine's lock for big runs
FIRST_UAI_DIGITS = 9_300_000
PLAIN_TARGET_MIB = 7.0
DEMO_TARGET_MIB = 7.5


def read_all(pids: Iterable[int]) -> list[ProcessMemory]:
    found = []
    for pid in pids:
        try:
            found.append(read_memory(pid))
        except OSError as error:
            raise BenchFailure(f"process {pid} went away while measured: {error}") from None
    return found


# -- the baseline: bare grpc.aio servers forked from the same warm parent ----------------------


async def measure_baseline(addresses: Sequence[str], timeout: float) -> list[ProcessMemory]:
    async with bare_servers(addresses, timeout) as started:
        await asyncio.sleep(1.0)  # as the schools: measured idle, after their start
        return read_all(started["pids"])


# -- the schools -----------------------------------------------------------------------------


async def provision(
    console_address: str, token: str, count: int, demo: bool, parallelism: int, timeout: float
) -> list[str]:
    """N schools through the Console API (ProvisionSchool returns once the school is ready,
    DESIGN decision 13); their UAIs. Nothing else is asked of them."""
    metadata = (("authorization", f"Bearer {token}"),)
    uais = [make_uai(f"{FIRST_UAI_DIGITS + i:07d}") for i in range(count)]
    limit = asyncio.Semaphore(parallelism)
    failures: list[str] = []
    done = [0]
    async with grpc.aio.insecure_channel(console_address, options=CHANNEL_OPTIONS) as channel:
        console: Any = console_pb2_grpc.ConsoleStub(channel)
        deadline = time.monotonic() + timeout

        async def one(index: int, uai: str) -> None:
            async with limit:
                try:
                    await console.ProvisionSchool(
                        school_request(uai, index, demo),
                        metadata=metadata,
                        timeout=max(deadline - time.monotonic(), 0.1),
                    )
                except grpc.aio.AioRpcError as error:
                    failures.append(f"{uai}: {error.code().name}: {error.details()}")
                done[0] += 1
                if done[0] % 100 == 0:
                    say(f"  {done[0]}/{count} schools")

        await asyncio.gather(*(one(i, uai) for i, uai in enumerate(uais)))
    if failures:
        raise BenchFailure(f"{len(failures)} schools were not provisioned; first: {failures[0]}")
    return uais


def school_pids(state_dir: Path, uais: Sequence[str]) -> list[int]:
    pids = []
    for uai in uais:
        pid_file = PidFile.read(state_dir / "schools" / uai / "agent.pid")
        if pid_file is None or not pid_file.is_alive():
            raise BenchFailure(f"school {uai} has no live process behind its agent.pid")
        pids.append(pid_file.pid)
    return pids


@dataclass
class Schools:
    ready: list[ProcessMemory]
    merged: list[ProcessMemory]
    provisioning_seconds: float
    merge_seconds: float
    ksmd_cpu_seconds: float
    merging_off: str


async def measure_schools(
    run: Run, pool: str, count: int, demo: bool, parallelism: int, timeout: float
) -> Schools:
    console_address = await start_controller(run, pool, timeout)
    token = (run.state_dir / "operator.token").read_text(encoding="utf-8").strip()
    started = time.perf_counter()
    ksmd_before = ksmd_cpu_seconds()
    uais = await provision(console_address, token, count, demo, parallelism, timeout)
    seconds = time.perf_counter() - started
    passes_before = await asyncio.to_thread(merge_passes, run)
    await asyncio.sleep(1.0)
    pids = school_pids(run.state_dir, uais)
    ready = read_all(pids)
    merge_seconds, off = await wait_merged(run, passes_before, max(timeout, 900.0))
    return Schools(
        ready,
        read_all(pids) if not off else [],
        seconds,
        merge_seconds + 1.0,
        ksmd_cpu_seconds() - ksmd_before,
        off,
    )


# -- the run ---------------------------------------------------------------------------------


POOL_SECOND_OCTET = 62  # its addresses: a free block of 127.62/16 (bench.addresses)


def pool_and_hosts(count: int) -> tuple[str, list[str]]:
    """A free block of 127.62.0.0/16 with room for `count` schools (`bench.addresses`, as
    every benchmark of the suite), and its first `count` host addresses (the baseline's)."""
    pool = free_pool(POOL_SECOND_OCTET, count)
    hosts = [str(address) for address in ipaddress.IPv4Network(pool).hosts()][:count]
    return pool, hosts


def _big_run_lock_held() -> bool:
    """Whether someone (we, under `flock`) holds the machine's big-run lock now."""
    try:
        with open(BIG_RUN_LOCK, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    return False


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


async def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    pool, addresses = pool_and_hosts(args.schools)
    say(f"baseline: {args.schools} bare grpc.aio servers forked from the warm parent ({pool})")
    load_before = load_average()
    baseline = summarize(await measure_baseline(addresses, args.timeout))
    kind = "demo" if args.demo else "plain"
    say(f"pronote-dc: {args.schools} {kind} schools ({pool})")
    run = Run(find_pronote_dc(), Path(tempfile.mkdtemp(prefix="pronote-dc-memory-")))
    try:
        measured = await measure_schools(
            run, pool, args.schools, args.demo, args.parallelism, args.timeout
        )
        schools = summarize(measured.ready)
    finally:
        problems = cleanup(run)
        for problem in problems:
            say(f"cleanup: {problem}")
    target = DEMO_TARGET_MIB if args.demo else PLAIN_TARGET_MIB
    return {
        "schools": args.schools,
        "kind": kind,
        "provisioning_seconds": round(measured.provisioning_seconds, 1),
        "school": schools.__dict__,
        "school_merged": summarize(measured.merged).__dict__ if measured.merged else None,
        "merging_off": measured.merging_off,
        "merge_seconds_after_ready": round(measured.merge_seconds, 1),
        "ksmd_cpu_seconds": round(measured.ksmd_cpu_seconds, 1),
        "baseline_bare_grpc_aio": baseline.__dict__,
        "target_pss_mib": target,
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "python": sys.version.split()[0],
        "malloc_arena_max": os.environ.get("MALLOC_ARENA_MAX", ""),
    }


def render(report: dict[str, Any]) -> str:
    school, bare = report["school"], report["baseline_bare_grpc_aio"]
    lines = [
        f"{report['schools']} {report['kind']} schools (provisioned in "
        f"{report['provisioning_seconds']} s) beside {bare['processes']} bare grpc.aio servers "
        "forked from the same warm parent",
        f"{'':24}{'school':>10}{'baseline':>10}{'difference':>12}",
    ]

    def row(label: str, a: float, b: float, digits: int = 2) -> str:
        return f"{label:24}{a:10.{digits}f}{b:10.{digits}f}{a - b:+12.{digits}f}"

    def totals(measured: dict[str, Any], indent: str = "") -> list[str]:
        return [
            row(f"{indent}PSS mean (MiB)", measured["pss_mean_mib"], bare["pss_mean_mib"]),
            row(f"{indent}PSS p95 (MiB)", measured["pss_p95_mib"], bare["pss_p95_mib"]),
            row(
                f"{indent}private dirty (MiB)",
                measured["private_dirty_mean_mib"],
                bare["private_dirty_mean_mib"],
            ),
        ]

    lines += [
        *totals(school),
        row("threads", school["threads"], bare["threads"], 1),
        "PSS by kind of mapping (MiB, mean):",
    ]
    for kind in KINDS:
        lines.append(
            row(f"  {kind}", school["pss_by_kind_mib"][kind], bare["pss_by_kind_mib"][kind], 3)
            + f"   {KIND_NOTES[kind]}"
        )
    target = report["target_pss_mib"]
    verdict = "met" if school["pss_mean_mib"] <= target else "NOT met"
    lines.append(f"target <= {target} MiB PSS per school, 1 s after ready: {verdict}")
    merged = report["school_merged"]
    if merged is None:
        lines.append(f"same-page merging did not run: {report['merging_off']}")
    else:
        verdict = "met" if merged["pss_mean_mib"] <= target else "NOT met"
        lines += [
            f"after the same-page merging pass ({report['merge_seconds_after_ready']} s after "
            f"ready; ksmd CPU {report['ksmd_cpu_seconds']} s, "
            f"{report['ksmd_cpu_seconds'] * 1000 / report['schools']:.0f} ms a school):",
            *totals(merged, "  "),
            f"target <= {target} MiB PSS per school, merged: {verdict}",
        ]
    lines += [
        f"load average before/after: {report['load_average_before']} / "
        f"{report['load_average_after']}",
    ]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.school_memory", description=__doc__)
    parser.add_argument("--schools", type=int, default=1000, help=f"1-{MAX_SCHOOLS}")
    parser.add_argument("--demo", action="store_true", help="demo schools (data unread)")
    parser.add_argument("--parallelism", type=int, default=8, help="provisioning requests")
    parser.add_argument("--timeout", type=float, default=900.0, help="per phase, seconds")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not 1 <= args.schools <= MAX_SCHOOLS:
        parser.error(f"--schools must be 1-{MAX_SCHOOLS}")
    if not 1 <= args.parallelism <= 64:
        parser.error("--parallelism must be 1-64")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.schools > 200 and not _big_run_lock_held():
        say(f"more than 200 schools: run this under `flock {BIG_RUN_LOCK}`")
    # SIGTERM (`timeout`, the suite) as Ctrl-C: the fleet is torn down on the way out.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        report = asyncio.run(run_benchmark(args))
    except BenchFailure as error:
        say(f"benchmark failed: {error}")
        return 1
    except KeyboardInterrupt:
        say("interrupted; the fleet was torn down")
        return 130
    print(json.dumps(report, indent=2) if args.json else render(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
