"""CPU time of a fleet on the local runtime and of the machine around it, read from /proc.

Shared by the benchmarks that give CPU beside wall time (`bench.school_year`,
`bench.provision_local`): a fleet's processes are those whose environment names its state
directory (every one inherits the controller's PRONOTE_DC_STATE_DIR); the kernel's page
scanners are read apart, because what they cost grows with the pages they scan and with the
processes mapping each page (the same shared page is mapped by every school: DAMON's and
ksmd's reverse-map walks visit every mapping), not with the fleet's own work.
"""

from __future__ import annotations

import os
from pathlib import Path

from bench.running import TICKS, stat_fields

# The threads gRPC's core starts in a school (named by gRPC; the others are the school's
# main thread and its `asyncio.to_thread` workers, which keep the process's name).
GRPC_THREADS = ("event_engine", "grpc_global_tim", "lifeguard", "default-executo", "resolver-execu")
# The kernel's own threads that scan every process's pages: same-page merging (decision 35)
# and DAMON, which the machine's platform may run (a `kdamond.N` thread).
PAGE_SCANNERS = ("ksmd", "kdamond")


def _seconds(fields: list[str]) -> float:
    """utime + stime of `stat_fields`, in seconds."""
    return (int(fields[12]) + int(fields[13])) / TICKS


def fleet_cpu(state: Path, grpc_threads: dict[str, float] | None = None) -> dict[str, float]:
    """CPU seconds (utime + stime, every thread) of the fleet's processes so far, by kind:
    `controller` (`pronote-dc up`) and `schools` (each school process and the warm parent
    they are forked from), and of `schools`: `schools_system` (in the kernel: file system
    calls, scheduling, page faults), `schools_grpc_threads` (the threads gRPC's core runs,
    GRPC_THREADS: given `grpc_threads`, the same read earlier by thread, their CPU since, a
    thread gone meanwhile not counted; `schools_grpc_threads_alive`, how many now) and
    `schools_major_faults` / `schools_minor_faults`
    (counts). Also, machine-wide: `machine_busy` (every CPU's non-idle time, /proc/stat),
    `page_scanners` (the kernel threads PAGE_SCANNERS) and `machine_steal` (time the
    hypervisor ran something else while one of this VM's CPUs had work: the wall time waits
    for it, no process's CPU time counts it). A process of the fleet is one whose
    environment names `state` (every one inherits the controller's PRONOTE_DC_STATE_DIR)."""
    marker = f"PRONOTE_DC_STATE_DIR={state}\0".encode()
    used = dict.fromkeys(
        ("controller", "schools", "schools_system", "schools_grpc_threads",
         "schools_grpc_threads_alive", "schools_major_faults", "schools_minor_faults",
         "page_scanners"),
        0.0,
    )  # fmt: skip
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        fields = stat_fields(f"/proc/{entry.name}/stat")
        if fields is None:
            continue
        if fields[0].startswith(PAGE_SCANNERS):
            used["page_scanners"] += _seconds(fields)
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as environ:
                if marker not in environ.read():
                    continue
            with open(f"/proc/{entry.name}/cmdline", "rb") as cmdline:
                kind = "controller" if _is_controller(cmdline.read()) else "schools"
        except OSError:
            continue  # gone, or not ours to read
        user, system = int(fields[12]) / TICKS, int(fields[13]) / TICKS
        used[kind] += user + system
        if kind == "schools":
            used["schools_system"] += system
            used["schools_minor_faults"] += int(fields[8])
            used["schools_major_faults"] += int(fields[10])
            threads = _grpc_threads_cpu(entry.name)
            used["schools_grpc_threads_alive"] += len(threads)
            for tid, seconds in threads.items():
                if grpc_threads is not None:
                    used["schools_grpc_threads"] += seconds - grpc_threads.get(tid, 0.0)
                    grpc_threads[tid] = seconds
                else:
                    used["schools_grpc_threads"] += seconds
    used.update(_machine_stat())
    return used


def machine_cpu() -> dict[str, float]:
    """Machine-wide CPU seconds since boot: `machine_busy` (every CPU's non-idle time,
    /proc/stat), `page_scanners` (the kernel threads PAGE_SCANNERS) and `machine_steal` (time
    the hypervisor ran something else while one of this VM's CPUs had work: the wall time
    waits for it, no process's CPU time counts it)."""
    scanners = 0.0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            fields = stat_fields(f"/proc/{entry.name}/stat")
            if fields is not None and fields[0].startswith(PAGE_SCANNERS):
                scanners += _seconds(fields)
    return {"page_scanners": scanners, **_machine_stat()}


def _machine_stat() -> dict[str, float]:
    with open("/proc/stat", encoding="ascii") as stat:
        ticks = [int(x) for x in stat.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = ticks[:8]  # guest: not ours
    return {
        "machine_busy": (user + nice + system + irq + softirq) / TICKS,
        "machine_steal": steal / TICKS,
    }


def _is_controller(cmdline: bytes) -> bool:
    """`python -m datacenter.cli up` or the `pronote-dc up` script."""
    args = cmdline.split(b"\0")
    return b"datacenter.cli" in args or any(arg.endswith(b"pronote-dc") for arg in args[:2])


def process_cpu(pid: int) -> dict[str, float]:
    """{"user": s, "system": s, "minor_faults": count, "on_cpu": s} of one process (its
    threads, not its children); zeros if it is gone. "user" and "system" are /proc/<pid>/stat's,
    in clock ticks of 10 ms, each rounded down: a process that used 15 ms shows 10 ms. "on_cpu"
    is the time its live threads ran, to the nanosecond (/proc/<pid>/task/*/schedstat), for
    sums over many processes of a few ms each (threads already ended are not in it)."""
    fields = stat_fields(f"/proc/{pid}/stat")
    if fields is None:
        return {"user": 0.0, "system": 0.0, "minor_faults": 0.0, "on_cpu": 0.0}
    return {
        "user": int(fields[12]) / TICKS,
        "system": int(fields[13]) / TICKS,
        "minor_faults": float(fields[8]),
        "on_cpu": _on_cpu_seconds(pid),
    }


def _on_cpu_seconds(pid: int) -> float:
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0.0
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat", encoding="ascii") as schedstat:
                total += int(schedstat.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # the thread ended meanwhile
    return total / 1e9


def _grpc_threads_cpu(pid: str) -> dict[str, float]:
    """CPU seconds of each gRPC thread of the process, by thread id."""
    seconds: dict[str, float] = {}
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return seconds
    for tid in tasks:
        fields = stat_fields(f"/proc/{pid}/task/{tid}/stat")
        if fields is not None and fields[0].startswith(GRPC_THREADS):
            seconds[tid] = _seconds(fields)
    return seconds
