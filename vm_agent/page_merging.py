"""Offer a school's own pages to the kernel's same-page merging (KSM).

A school forked from the warm parent shares every page with it until it writes one; the
pages it has written (its ~7 MiB, docs/memory.md) are mostly the same in every school: the
reference counts of the same objects, the same caches, gRPC core's same structures. The
kernel's KSM daemon (`ksmd`, Documentation/admin-guide/mm/ksm.rst) merges identical pages of
the memory areas marked MADV_MERGEABLE into one copy-on-write page. A school marks only the
pages it owns (present and mapped by it alone, /proc/self/pagemap bits 63 and 56): the pages
still shared with the warm parent cannot be merged further, and scanning them would cost
`ksmd` ~8 times as much (DESIGN decision 35).

A school marks what its start wrote when the controller asks (`MARK_PAGES_SIGNAL`, at the
start of its pass, once the provisioning wave is over: marking splits memory areas, whose
kernel work grows with the fleet, so it is kept out of the wave, DESIGN decision 40), and
what building an HTTP port wrote two seconds after that build.

Nothing happens unless `ksmd` runs (`/sys/kernel/mm/ksm/run` = 1, which the controller sets
when it may: datacenter/adapters/ksmd.py). Linux only; elsewhere `mark_own_pages` marks
nothing.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import re

from common.processes import MARK_PAGES_SIGNAL

log = logging.getLogger("vm_agent.page_merging")

MADV_MERGEABLE = 12  # <asm-generic/mman-common.h>
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
# A pagemap entry's last byte (Documentation/admin-guide/mm/pagemap.rst): bit 63 "present",
# bit 56 "exclusively mapped".
_OWN_BYTE = bytes(b"o"[0] if byte & 0x81 == 0x81 else b"."[0] for byte in range(256))
# Own pages closer than this are marked as one range: fewer memory areas (each madvise of a
# part splits one), a few shared pages scanned in vain.
GAP_PAGES = 4
# After an HTTP port's first build: what building and serving it writes is written by then
# (docs/memory.md). What a school's start writes is marked when the controller asks (40).
MARK_DELAY_SECONDS = 2.0
# Looked up here, at import: in the warm parent, not in each school (docs/memory.md).
_RUN = re.compile(rb"o(?:\.{0,%d}o)*" % GAP_PAGES)
_madvise = ctypes.CDLL(None, use_errno=True).madvise
_madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)


# An anonymous private writable area of /proc/self/maps: the malloc heap, pymalloc arenas,
# anonymous maps (stacks are named, files have an inode).
_AREA = re.compile(rb"^([0-9a-f]+)-([0-9a-f]+) rw-p 00000000 00:00 0 +(?:\[heap\])?$", re.M)
# Buffers made here, in the warm parent: a school reading into them writes only the pages it
# fills, where fresh bytes objects would land in the parent's half-used pools and copy
# theirs (measured: a first mark wrote 1.2 MiB with fresh objects, 0.3 MiB with these).
_MAPS = bytearray(512 * 1024)  # /proc/self/maps of a school: ~100 KiB
_PAGEMAP_PAGES = 8192  # entries read at a time: 64 KiB for 32 MiB of memory
_PAGEMAP = bytearray(_PAGEMAP_PAGES * 8)


def mark_when_asked() -> None:
    """`mark_own_pages` each time MARK_PAGES_SIGNAL arrives, on the running event loop."""
    asyncio.get_running_loop().add_signal_handler(MARK_PAGES_SIGNAL, mark_own_pages)


def mark_soon() -> None:
    """`mark_own_pages` in MARK_DELAY_SECONDS, on the running event loop: once what is being
    done now (an HTTP port's first connection) has written its pages."""
    asyncio.get_running_loop().call_later(MARK_DELAY_SECONDS, mark_own_pages)


def _read_maps() -> memoryview:
    fd = os.open("/proc/self/maps", os.O_RDONLY)
    try:
        size = 0
        while size < len(_MAPS):
            read = os.readv(fd, [memoryview(_MAPS)[size:]])
            if not read:
                break
            size += read
    finally:
        os.close(fd)
    return memoryview(_MAPS)[:size]


def mark_own_pages() -> int:
    """Mark this process's own anonymous pages MADV_MERGEABLE; the bytes marked (0 where
    /proc/self/pagemap or madvise is not available: no error, a debug line). Runs of own
    pages closer than GAP_PAGES are marked as one range: fewer memory areas (each madvise of
    a part splits one), a few shared pages scanned in vain. ~3 ms of CPU for a school; the
    ~0.3 MiB it writes itself (its code paths run for the first time) is marked by the next
    mark, if any (a second round right away would cost as much again)."""
    marked = 0
    try:
        maps = _read_maps()
        fd = os.open("/proc/self/pagemap", os.O_RDONLY)
    except OSError as error:
        log.debug("no page merging: %s", error)
        return 0
    try:
        for area in _AREA.finditer(maps):
            start, end = int(area[1], 16) // PAGE_SIZE, int(area[2], 16) // PAGE_SIZE
            for first in range(start, end, _PAGEMAP_PAGES):
                count = min(_PAGEMAP_PAGES, end - first)
                view = memoryview(_PAGEMAP)[: count * 8]
                if os.preadv(fd, [view], first * 8) != count * 8:
                    break
                own = _PAGEMAP[7 : count * 8 : 8].translate(_OWN_BYTE)
                for run in _RUN.finditer(own):
                    length = (run.end() - run.start()) * PAGE_SIZE
                    if _madvise((first + run.start()) * PAGE_SIZE, length, MADV_MERGEABLE) == 0:
                        marked += length
    except OSError as error:
        log.debug("page merging stopped: %s", error)
    finally:
        os.close(fd)
    return marked
