"""The kernel's same-page merging daemon (`ksmd`), run in passes after schools start.

Schools on `local://` mark the pages they own MADV_MERGEABLE when a pass begins, asked by
the controller (`Runtime.mark_pages`, DESIGN decision 40: out of the provisioning wave, whose
CPU the marks' kernel work took); most of those pages are identical from school to school, and
`ksmd` merges identical pages into one copy-on-write page (Linux's
Documentation/admin-guide/mm/ksm.rst; what a hypervisor's page sharing does for identical
VMs). Measured on this machine kind, 1000 plain schools: 7.5 MiB PSS per school before the
merge, 1.55 MiB after it, for ~25 s of `ksmd` CPU (DESIGN decision 35, docs/memory.md).

`ksmd` is machine-wide (`/sys/kernel/mm/ksm`, writable by root only). A **pass** starts once
no school has started for `PASS_DELAY_SECONDS` (so it does not compete with a provisioning
wave for the CPU, nor scan the same few pages in a loop while the wave goes on), runs ksmd at
`PASS_PAGES_TO_SCAN` pages every `PASS_SLEEP_MILLISECS` (~half of one core) until it has
completed `FULL_SCANS_PER_PASS` full scans from its start (a page is merged on the scan after
the one that first saw it), then puts `run`, `pages_to_scan` and
`sleep_millisecs` back as they were: merged pages stay merged with `run` = 0, and an idle
fleet pays no scanning. Schools that started during a pass get the next one, after the same
wait: a pass is bounded (3 full scans), also while schools keep starting (a crash loop), when
ksmd runs at most 3 scans every `MAX_WAIT_SECONDS`. Controllers of several fleets on one
machine share a lease file: the first to begin saves the settings, the last to end restores
them, and a controller that died in a pass (its pid and start time no longer match) is
dropped by the next one that looks. A lease file of another shape is set aside (a warning).
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Generic, TypeVar

from common.files import write_json_atomically
from common.processes import start_ticks

log = logging.getLogger("datacenter.ksmd")
School = TypeVar("School")

SYSFS = Path("/sys/kernel/mm/ksm")
LEASES = Path("/run/pronote-dc/ksmd.json")
PASS_PAGES_TO_SCAN = 5000  # 4 KiB pages per wake-up: ~250 000 pages/s, ~half of one core
PASS_SLEEP_MILLISECS = 20
FULL_SCANS_PER_PASS = 3  # the scan under way, one that sees every page, one that merges
PASS_DELAY_SECONDS = 3.0
# Once asked, the schools mark their pages (~3-10 ms of CPU each, more in a larger fleet:
# splitting a memory area inserts into trees every fork of the warm parent shares); a pass
# starts counting its scans after this, so that ksmd does not compete with them.
MARK_SETTLE_SECONDS = 1.0
MARK_SECONDS_PER_SCHOOL = 0.005
POLL_SECONDS = 1.0  # only while a pass runs
# A pass starts once no school has started for PASS_DELAY_SECONDS, or this long after the
# first one asked (schools starting one after the other for ever).
MAX_WAIT_SECONDS = 120.0
RESTORED = ("pages_to_scan", "sleep_millisecs", "run")


class Ksmd:
    """`/sys/kernel/mm/ksm` and the machine's lease file. `sysfs` and `leases` are paths for
    the tests; `owner` is this controller's pid."""

    def __init__(self, sysfs: Path = SYSFS, leases: Path = LEASES, owner: int | None = None):
        self.sysfs = sysfs
        self.leases = leases
        self.owner = os.getpid() if owner is None else owner

    def unavailable_reason(self) -> str | None:
        """Why passes cannot run here (no KSM in this kernel, not root), or None."""
        run = self.sysfs / "run"
        if not run.exists():
            return f"this kernel has no same-page merging ({self.sysfs} is missing)"
        if not os.access(run, os.W_OK):
            return f"{run} is not writable (runs as root only)"
        return None

    def read(self, name: str) -> int:
        """One of ksmd's counters or settings (`full_scans`, `pages_sharing`, ...)."""
        return int((self.sysfs / name).read_text(encoding="ascii").split()[0])

    def _write(self, name: str, value: int) -> None:
        (self.sysfs / name).write_text(f"{value}\n", encoding="ascii")

    def begin(self) -> None:
        """Take a lease; the first lease saves ksmd's settings and sets the pass's. Settings
        saved by a controller that died in its pass are kept: they are the machine's, what is
        in sysfs then is the pass's speed. Raises OSError if sysfs refuses a write."""
        with self._leases() as leases:
            if not leases["holders"] and not leases["saved"]:
                leases["saved"] = {name: self.read(name) for name in RESTORED}
                self._write("pages_to_scan", PASS_PAGES_TO_SCAN)
                self._write("sleep_millisecs", PASS_SLEEP_MILLISECS)
            self._write("run", 1)  # also after someone else stopped it in our pass
            leases["holders"][str(self.owner)] = start_ticks(self.owner)

    def end(self) -> None:
        """Give the lease back; the last one out restores the saved settings."""
        with self._leases() as leases:
            leases["holders"].pop(str(self.owner), None)
            self._restore_if_unheld(leases)

    def tidy(self) -> None:
        """Restore the saved settings if every lease is gone (its controller died in a pass,
        leaving ksmd at the pass's speed). A no-op otherwise."""
        with self._leases() as leases:
            self._restore_if_unheld(leases)

    def _restore_if_unheld(self, leases: dict[str, Any]) -> None:
        if not leases["holders"] and leases["saved"]:
            for name in RESTORED:  # run last: the speed is back before it runs again
                self._write(name, leases["saved"][name])
            leases["saved"] = {}

    @contextmanager
    def _leases(self) -> Iterator[dict[str, Any]]:
        self.leases.parent.mkdir(parents=True, exist_ok=True)
        with open(self.leases.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            leases = self._read_leases()
            holders = leases["holders"]
            for pid, ticks in list(holders.items()):  # controllers that died in a pass
                if start_ticks(int(pid)) != ticks:
                    del holders[pid]
            yield leases
            write_json_atomically(self.leases, leases)

    def _read_leases(self) -> dict[str, Any]:
        """The lease file; empty if missing, or if not of the shape this module writes (it
        is then kept beside as `.bad` and a warning says so)."""
        try:
            leases = json.loads(self.leases.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"holders": {}, "saved": {}}
        except ValueError:
            leases = None
        if _well_formed(leases):
            return dict(leases)
        log.warning("page merging: %s is not a lease file; set aside as .bad", self.leases)
        self.leases.replace(self.leases.with_suffix(".bad"))
        return {"holders": {}, "saved": {}}


def _well_formed(leases: object) -> bool:
    if not isinstance(leases, dict) or set(leases) != {"holders", "saved"}:
        return False
    holders, saved = leases["holders"], leases["saved"]
    return (
        isinstance(holders, dict)
        and all(pid.isdigit() and isinstance(ticks, int | None) for pid, ticks in holders.items())
        and isinstance(saved, dict)
        and (
            not saved
            or (set(saved) == set(RESTORED) and all(type(v) is int for v in saved.values()))
        )
    )


class MergePasses(Generic[School]):
    """Runs passes after schools start: `school_started(school)` from the fleet's start hook.
    One pass at a time; schools that start during one get the next. A pass first asks the
    schools started since the last one to mark their pages (`mark(school)`: True if asked),
    then waits MARK_SETTLE_SECONDS and MARK_SECONDS_PER_SCHOOL for each before it scans."""

    def __init__(
        self,
        ksmd: Ksmd,
        mark: Callable[[School], bool],
        delay_seconds: float = PASS_DELAY_SECONDS,
    ):
        self.ksmd = ksmd
        self.delay_seconds = delay_seconds
        self.passes = 0
        self.marks_asked = 0
        self._mark = mark
        self._asked_at = 0.0
        self._started: list[School] = []
        self._task: asyncio.Task[None] | None = None

    async def school_started(self, school: School) -> None:
        self._asked_at = asyncio.get_running_loop().time()
        self._started.append(school)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._passes())

    async def _ask_marks(self) -> None:
        started, self._started = self._started, []
        asked = sum(1 for school in started if self._mark(school))
        self.marks_asked += asked
        if asked:
            await asyncio.sleep(MARK_SETTLE_SECONDS + MARK_SECONDS_PER_SCHOOL * asked)

    async def _passes(self) -> None:
        """Passes until no school asked during the last one."""
        loop = asyncio.get_running_loop()
        while True:
            first_asked = self._asked_at
            while True:  # schools still starting: ksmd would scan a few pages in a loop
                quiet_at = min(self._asked_at + self.delay_seconds, first_asked + MAX_WAIT_SECONDS)
                if loop.time() >= quiet_at:
                    break
                await asyncio.sleep(quiet_at - loop.time())
            served = self._asked_at
            await self._ask_marks()  # the schools that asked until now mark their pages
            if not await self._pass():
                return
            if self._asked_at == served:  # nothing can ask between this and the return
                return

    async def _pass(self) -> bool:
        """One pass; False if ksmd could not be driven (a warning says why)."""
        # begin and end are a few small writes: made here, not in a thread, so that a
        # cancellation (the controller stopping) never leaves a lease taken.
        try:
            self.ksmd.begin()
        except OSError as error:
            log.warning("page merging: cannot start ksmd: %s", error)
            return False
        try:
            target = self.ksmd.read("full_scans") + FULL_SCANS_PER_PASS
            while self.ksmd.read("full_scans") < target:
                if self.ksmd.read("run") != 1:  # stopped by someone else in our pass
                    self.ksmd.begin()
                await asyncio.sleep(POLL_SECONDS)
        except OSError as error:
            log.warning("page merging: pass given up: %s", error)
            return False
        finally:
            try:
                self.ksmd.end()
            except OSError as error:
                log.warning("page merging: cannot give ksmd its settings back: %s", error)
        self.passes += 1
        with suppress(OSError):
            log.info(
                "page merging: pass done, %d pages shared by %d mappings",
                self.ksmd.read("pages_shared"),
                self.ksmd.read("pages_sharing"),
            )
        return True

    async def close(self) -> None:
        """Stop a running pass (its lease is given back)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
