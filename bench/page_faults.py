"""What this machine's kernel charges for a page fault, measured in a fresh process.

A school's start on `local://` is mostly page faults: it copies on write the warm parent's
pages it writes and zero-fills the pages it allocates, ~1 700–1 900 faults in all. What one
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
page once (copy-on-write faults); the memory is kept out of transparent huge pages, as most of
a school's is (a host whose THP is `always` would otherwise show one 2 MiB fault for 512
pages). Each figure is µs of CPU per page (`mmap.PAGESIZE`, 4 KiB here), less the loop's own
cost (the same writes again, no fault). Bounded: `measure` gives the probe `TIMEOUT_SECONDS`,
in its own session (a Ctrl-C meant for the benchmark does not kill the probe first).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import mmap
import os
import sys
import time
from collections.abc import Sequence

from bench.running import say

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
    """{"zero_fill_us": µs, "copy_on_write_us": µs} of CPU per page over `mib` MiB, in this
    process (it forks: call it from a process without threads, or use `measure`). Raises
    OSError (no memory) and RuntimeError (the child did not measure)."""
    pages = mib * 1024 * 1024 // PAGE
    buffer = mmap.mmap(-1, pages * PAGE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    buffer.madvise(mmap.MADV_NOHUGEPAGE)
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
        said = answer.read()
    _, status = os.waitpid(child, 0)
    if not said or os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"the probe's child ended ({status:#x}) before it measured")
    copy_on_write = float(said)
    return {
        "zero_fill_us": max(0.0, zero_fill - loop) / pages * 1e6,
        "copy_on_write_us": max(0.0, copy_on_write - loop) / pages * 1e6,
    }


async def measure(mib: int = DEFAULT_MIB) -> dict[str, float] | None:
    """`probe(mib)` in a fresh interpreter in its own session; None if it failed or took
    longer than TIMEOUT_SECONDS (a warning on stderr says why): a side figure never costs a
    benchmark its own. Cancellable (the probe is then killed)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.page_faults",
        "--mib",
        str(mib),
        "--json",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), TIMEOUT_SECONDS)
    except TimeoutError:
        why = f"it took over {TIMEOUT_SECONDS:.0f} s"
    else:
        if process.returncode == 0:
            figures: dict[str, float] = json.loads(out)
            return figures
        why = err.decode(errors="replace").strip()[-300:] or f"exit {process.returncode}"
    finally:
        if process.returncode is None:  # cancelled or timed out
            process.kill()
            await process.wait()
    say(f"  (the page-fault probe gave nothing: {why})")
    return None


def per_page(figures: dict[str, float] | None) -> str:
    """'zero-fill 3.5 µs, copy-on-write 4.8 µs a page' (or 'not measured')."""
    if figures is None:
        return "not measured"
    return (
        f"zero-fill {figures['zero_fill_us']:.1f} µs, "
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
    print(json.dumps(figures) if args.json else f"page faults: {per_page(figures)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
