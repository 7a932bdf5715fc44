"""A process's memory by kind of mapping, from /proc/<pid>/smaps (`bench.school_memory`).

glibc and CPython say nothing of their anonymous maps; their sizes and alignments tell:
Python's small objects live in 1 MiB arenas, a thread's malloc arena in a 64 MiB-aligned
reservation, a thread's stack in an 8 MiB map (docs/memory.md).
"""

from __future__ import annotations

import itertools
import os
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

KIB = 1024
MIB = 1024 * KIB
THREAD_STACK_KIB = 8192  # glibc's default for a thread (ulimit -s)
MALLOC_ARENA_ALIGN = 64 * MIB  # a thread's malloc arena (HEAP_MAX_SIZE) is aligned on this
PYMALLOC_ARENA = MIB  # Python 3.10+ allocates its small objects in arenas of 1 MiB

KINDS = (
    "pymalloc arenas",
    "malloc heap",
    "thread malloc arenas",
    "stacks",
    "other anonymous",
    "libgrpc",
    "libpython",
    "other files",
)
KIND_NOTES = {
    "pymalloc arenas": "Python objects <= 512 B (1 MiB anonymous maps)",
    "malloc heap": "[heap]: larger Python objects (code, dicts), gRPC core, protobuf",
    "thread malloc arenas": "glibc arenas of gRPC's threads (64 MiB-aligned)",
    "stacks": "the main stack and the threads' (8 MiB maps)",
    "other anonymous": "other anonymous maps (large mallocs, ctypes, ...)",
    "libgrpc": "cygrpc*.so, pages of gRPC core's code and data",
    "libpython": "libpython3.*.so: the interpreter's code and static objects",
    "other files": "every other file-backed page (.so, .pyc are not mapped)",
}
_MAPPING = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$")


@dataclass
class ProcessMemory:
    """One process's pages in KiB: PSS and private dirty, in total and by kind."""

    pid: int
    pss: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    private_dirty: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    threads: int = 0

    @property
    def pss_total(self) -> int:
        return sum(self.pss.values())

    @property
    def private_dirty_total(self) -> int:
        return sum(self.private_dirty.values())


def thread_arenas(pid: int) -> set[int]:
    """Where glibc's thread arenas start: a 64 MiB-aligned anonymous map directly followed
    by the unused (---p) rest of its 64 MiB reservation."""
    maps = []
    with open(f"/proc/{pid}/maps", encoding="utf-8", errors="replace") as lines:
        for line in lines:
            match = _MAPPING.match(line)
            if match is not None:
                maps.append((int(match[1], 16), int(match[2], 16), match[3], match[4].strip()))
    found = set()
    for (start, end, _, name), following in itertools.pairwise(maps):
        next_start, next_end, next_perms, next_name = following
        if (
            start % MALLOC_ARENA_ALIGN == 0
            and not name
            and not next_name
            and next_perms.startswith("---")
            and next_start == end
            and next_end - start == MALLOC_ARENA_ALIGN
        ):
            found.add(start)
    return found


def mapping_kind(start: int, end: int, perms: str, name: str, arenas: set[int]) -> str:
    """Which of KINDS a mapping of /proc/<pid>/smaps is (a heuristic for anonymous ones:
    glibc and CPython say nothing of their maps; their sizes and alignments tell)."""
    size = end - start
    if name == "[heap]":
        return "malloc heap"
    if name == "[stack]":
        return "stacks"
    if name.startswith("/"):
        base = name.rsplit("/", 1)[-1]
        if base.startswith("cygrpc"):
            return "libgrpc"
        if base.startswith("libpython"):
            return "libpython"
        return "other files"
    if name:  # [vdso], [vvar], [anon:...]
        return "other anonymous"
    if size == THREAD_STACK_KIB * KIB and "w" in perms:
        return "stacks"
    if start in arenas:
        return "thread malloc arenas"
    if size >= PYMALLOC_ARENA:
        return "pymalloc arenas"
    return "other anonymous"


def whole_mappings(pid: int) -> dict[int, tuple[int, int]]:
    """Start of each anonymous unnamed map -> (start, end) of the run of adjacent ones with
    the same permissions it belongs to: the map as allocated, before a madvise split it (the
    pages a school marks for same-page merging, DESIGN decision 35, split its arenas)."""
    runs: dict[int, tuple[int, int]] = {}
    members: list[int] = []
    run_start = run_end = -1
    run_perms = ""
    with open(f"/proc/{pid}/maps", encoding="utf-8", errors="replace") as lines:
        for line in lines:
            match = _MAPPING.match(line)
            if match is None or match[4].strip():
                continue
            start, end, perms = int(match[1], 16), int(match[2], 16), match[3]
            if start != run_end or perms != run_perms:
                for member in members:
                    runs[member] = (run_start, run_end)
                members, run_start, run_perms = [], start, perms
            members.append(start)
            run_end = end
    for member in members:
        runs[member] = (run_start, run_end)
    return runs


def read_memory(pid: int) -> ProcessMemory:
    """The process's smaps, summed by kind. Raises OSError if it is gone."""
    memory = ProcessMemory(pid)
    arenas = thread_arenas(pid)
    whole = whole_mappings(pid)
    kind = "other anonymous"
    with open(f"/proc/{pid}/smaps", encoding="utf-8", errors="replace") as smaps:
        for line in smaps:
            match = _MAPPING.match(line)
            if match is not None:
                start, end = int(match[1], 16), int(match[2], 16)
                start, end = whole.get(start, (start, end))
                kind = mapping_kind(start, end, match[3], match[4].strip(), arenas)
            elif line.startswith("Pss:"):
                memory.pss[kind] += int(line.split()[1])
            elif line.startswith("Private_Dirty:"):
                memory.private_dirty[kind] += int(line.split()[1])
    memory.threads = len(os.listdir(f"/proc/{pid}/task"))
    return memory


@dataclass(frozen=True)
class Summary:
    processes: int
    pss_mean_mib: float
    pss_p95_mib: float
    private_dirty_mean_mib: float
    threads: float
    pss_by_kind_mib: dict[str, float]
    private_dirty_by_kind_mib: dict[str, float]


def summarize(memories: Sequence[ProcessMemory]) -> Summary:
    totals = sorted(m.pss_total for m in memories)
    count = len(memories)
    p95 = totals[min(count - 1, round(0.95 * (count - 1)))]
    return Summary(
        processes=count,
        pss_mean_mib=round(statistics.fmean(totals) / KIB, 2),
        pss_p95_mib=round(p95 / KIB, 2),
        private_dirty_mean_mib=round(
            statistics.fmean(m.private_dirty_total for m in memories) / KIB, 2
        ),
        threads=round(statistics.fmean(m.threads for m in memories), 1),
        pss_by_kind_mib={
            k: round(statistics.fmean(m.pss[k] for m in memories) / KIB, 3) for k in KINDS
        },
        private_dirty_by_kind_mib={
            k: round(statistics.fmean(m.private_dirty[k] for m in memories) / KIB, 3) for k in KINDS
        },
    )
