"""Offer a school's own pages to the kernel's same-page merging (KSM).

A school forked from the warm parent shares every page with it until it writes one; the
pages it has written (its ~7 MiB, docs/memory.md) are mostly the same in every school: the
reference counts of the same objects, the same caches, gRPC core's same structures. The
kernel's KSM daemon (`ksmd`, Documentation/admin-guide/mm/ksm.rst) merges identical pages of
the memory areas marked MADV_MERGEABLE into one copy-on-write page. A school marks only the
pages it owns (present and mapped by it alone, /proc/self/pagemap bits 63 and 56): the pages
still shared with the warm parent cannot be merged further, and scanning them would cost
`ksmd` ~8 times as much (DESIGN decision 35).

Nothing happens unless `ksmd` runs (`/sys/kernel/mm/ksm/run` = 1, which the controller sets
when it may: datacenter/adapters/ksm.py). Linux only; elsewhere `mark_own_pages` marks
nothing.
"""

from __future__ import annotations

import ctypes
import logging
import os
import re

log = logging.getLogger("vm_agent.page_merging")

MADV_MERGEABLE = 12  # <asm-generic/mman-common.h>
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
# A pagemap entry's last byte (Documentation/admin-guide/mm/pagemap.rst): bit 63 "present",
# bit 56 "exclusively mapped".
_OWN_BYTE = bytes(b"o"[0] if byte & 0x81 == 0x81 else b"."[0] for byte in range(256))
# Own pages closer than this are marked as one range: fewer memory areas (each madvise of a
# part splits one), a few shared pages scanned in vain.
GAP_PAGES = 4
# After the school is ready: its start and the controller's first health check have written
# what they write by then (docs/memory.md).
MARK_DELAY_SECONDS = 2.0
# Looked up here, at import: in the warm parent, not in each school (docs/memory.md).
_RUN = re.compile(rb"o(?:\.{0,%d}o)*" % GAP_PAGES)
_madvise = ctypes.CDLL(None, use_errno=True).madvise
_madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)


def _anonymous_areas(maps: str) -> list[tuple[int, int]]:
    """(start, end) byte addresses of the private writable areas of no file: the malloc heap,
    pymalloc arenas, anonymous maps. Stacks and the kernel's [vdso]/[vvar] are left out."""
    areas = []
    for line in maps.splitlines():
        fields = line.split()
        if len(fields) < 5 or fields[1] != "rw-p" or fields[4] != "0":
            continue
        if len(fields) > 5 and fields[5] != "[heap]":
            continue
        start, _, end = fields[0].partition("-")
        areas.append((int(start, 16), int(end, 16)))
    return areas


def own_ranges(areas: list[tuple[int, int]], pagemap_fd: int) -> list[tuple[int, int]]:
    """The (start, length) byte ranges of `areas` that hold pages this process alone maps,
    runs closer than GAP_PAGES joined. The flags are in each 8-byte entry's last byte: it is
    reduced to one byte per page and searched by `re` (~0.2 ms for a school's ~15 000 pages)."""
    ranges: list[tuple[int, int]] = []
    for start, end in areas:
        first = start // PAGE_SIZE
        entries = os.pread(pagemap_fd, (end - start) // PAGE_SIZE * 8, first * 8)
        own = entries[7::8].translate(_OWN_BYTE)  # b"o" where present and exclusive
        for run in _RUN.finditer(own):
            ranges.append(
                ((first + run.start()) * PAGE_SIZE, (run.end() - run.start()) * PAGE_SIZE)
            )
    return ranges


def mark_own_pages() -> int:
    """Mark this process's own anonymous pages MADV_MERGEABLE; the bytes marked (0 where
    /proc/self/pagemap or madvise is not available: no error, a debug line)."""
    try:
        with open("/proc/self/maps", encoding="ascii") as maps:
            areas = _anonymous_areas(maps.read())
        fd = os.open("/proc/self/pagemap", os.O_RDONLY)
        try:
            ranges = own_ranges(areas, fd)
        finally:
            os.close(fd)
    except OSError as error:
        log.debug("no page merging: %s", error)
        return 0
    marked = 0
    for start, length in ranges:
        if _madvise(start, length, MADV_MERGEABLE) == 0:
            marked += length
    return marked
