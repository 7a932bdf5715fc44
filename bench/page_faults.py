"""What this machine's kernel charges for a page fault, measured in a fresh process.

A school's start on `local://` is mostly page faults: it copies on write the warm parent's
pages it writes (~1 700 pages, docs/memory.md) and zero-fills the pages it allocates. What one
fault costs is the machine's, not the code's, and it is not one figure: on the Firecracker
host of 1 December 2026 a zero-filled page cost ~3.5 µs while the machine had ~6 GiB in use,
and ~10 µs beyond, where the guest touched memory its hypervisor had not backed yet (or had
taken back: `virtio_balloon` free page reporting). So a 2000-school wave pays ~3x more per
school in the kernel for its second thousand than for its first (DESIGN decision 48). The
provisioning benchmarks print this probe beside their figures, at the start and at the end
of the wave, so that two hosts' figures can be told apart.

`python -m bench.page_faults [--mib N] [--json]` (N MiB, 1 to 1024; default 64): in a fresh
interpreter (the caller may run threads, which a fork does not take along safely), N MiB of
anonymous memory touched once a page (zero-fill faults), then a forked child writes each
page once (copy-on-write faults). Each figure is µs per page, less the loop's own cost (the
same writes again, no fault). Bounded: `measure` gives the probe `TIMEOUT_SECONDS`.
"""

from __future__ import annotations

import argparse
import json
import mmap
import os
import subprocess
import sys
import time
from collections.abc import Sequence

PAGE = mmap.PAGESIZE
TIMEOUT_SECONDS = 60.0
DEFAULT_MIB = 64


def _touch(buffer: mmap.mmap, value: int) -> float:
    """CPU seconds (this process's, the kernel's work for it included) to write one byte in
    every page of `buffer`: not the wall time, which other work on the machine lengthens."""
    started = time.process_time()
    for offset in range(0, len(buffer), PAGE):
        buffer[offset] = value
    return time.process_time() - started


def probe(mib: int) -> dict[str, float]:
    """{"zero_fill_us": µs, "copy_on_write_us": µs} per 4 KiB page over `mib` MiB, in this
    process (it forks: call it from a process without threads, or use `measure`)."""
    pages = mib * 1024 * 1024 // PAGE
    buffer = mmap.mmap(-1, pages * PAGE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    zero_fill = _touch(buffer, 1)
    loop = _touch(buffer, 2)  # the same writes, every page already there: no fault
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (in the child)
        try:
            os.write(write_end, repr(_touch(buffer, 3)).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as answer:
        copy_on_write = float(answer.read() or "nan")
    os.waitpid(child, 0)
    return {
        "zero_fill_us": max(0.0, zero_fill - loop) / pages * 1e6,
        "copy_on_write_us": max(0.0, copy_on_write - loop) / pages * 1e6,
    }


def measure(mib: int = DEFAULT_MIB) -> dict[str, float]:
    """`probe(mib)` in a fresh interpreter. Raises RuntimeError if it fails or takes longer
    than TIMEOUT_SECONDS."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bench.page_faults", "--mib", str(mib), "--json"],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"the page-fault probe took over {TIMEOUT_SECONDS:.0f} s") from None
    if done.returncode != 0:
        raise RuntimeError(f"the page-fault probe failed: {done.stderr.strip()[-300:]}")
    figures: dict[str, float] = json.loads(done.stdout)
    return figures


def describe(figures: dict[str, float]) -> str:
    """One line: 'page faults: zero-fill 3.5 µs, copy-on-write 4.8 µs a page'."""
    return (
        f"page faults: zero-fill {figures['zero_fill_us']:.1f} µs, "
        f"copy-on-write {figures['copy_on_write_us']:.1f} µs a page"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.page_faults",
        description="What a page fault costs on this machine (zero-fill, copy-on-write).",
    )
    parser.add_argument(
        "--mib", type=int, default=DEFAULT_MIB, help=f"memory to touch (default {DEFAULT_MIB})"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if not 1 <= args.mib <= 1024:
        parser.error(f"--mib must be 1 to 1024 (MiB), not {args.mib}")
    figures = probe(args.mib)
    print(json.dumps(figures) if args.json else describe(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
