"""Same-page merging (DESIGN decision 35): which pages a school marks (its real
/proc/self/pagemap, in a real fork), and how the controller's passes drive ksmd and give its
settings back (a directory standing in for /sys/kernel/mm/ksm; the real one is driven in
tests/integration/test_page_merging.py)."""

from __future__ import annotations

import asyncio
import ctypes
import json
import mmap
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from datacenter.adapters import ksmd as ksmd_module
from datacenter.adapters.ksmd import PASS_PAGES_TO_SCAN, PASS_SLEEP_MILLISECS, Ksmd, MergePasses
from vm_agent import page_merging

PAGE = page_merging.PAGE_SIZE


def mergeable_pages(start: int, end: int) -> list[int]:
    """Which pages of [start, end) lie in areas /proc/self/smaps flags mergeable ("mg")."""
    pages: list[int] = []
    area = (0, 0)
    with open("/proc/self/smaps", encoding="ascii", errors="replace") as smaps:
        for line in smaps:
            head = line.split(" ", 1)[0]
            if "-" in head and not head.endswith(":"):
                low, high = (int(bound, 16) for bound in head.split("-"))
                area = (max(low, start), min(high, end))
            elif line.startswith("VmFlags:") and " mg" in line and area[0] < area[1]:
                pages += range((area[0] - start) // PAGE, (area[1] - start) // PAGE)
    return pages


@pytest.mark.skipif(not Path("/proc/self/pagemap").exists(), reason="Linux's pagemap only")
def test_a_fork_marks_the_pages_it_wrote_and_only_those() -> None:
    area = mmap.mmap(-1, 64 * PAGE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    area.write(b"x" * len(area))  # every page present in the parent, shared with the fork
    pointer = ctypes.c_char.from_buffer(area)
    address = ctypes.addressof(pointer)
    read_fd, write_fd = os.pipe()
    child = os.fork()
    if child == 0:  # the fork writes pages 10-12 and 40 only
        try:
            for page in (10, 11, 12, 40):
                area[page * PAGE] = ord("y")
            marked = page_merging.mark_own_pages()
            answer = [mergeable_pages(address, address + len(area)), marked]
            os.write(write_fd, json.dumps(answer).encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        pages, marked = json.loads(pipe.read())
    os.waitpid(child, 0)
    del pointer
    area.close()
    # The other pages are still the parent's too: not the fork's to offer.
    assert pages == [10, 11, 12, 40]
    assert marked >= 4 * PAGE  # with the interpreter's own pages of the fork


def test_a_process_without_pagemap_marks_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(*_args: object, **_kwargs: object) -> int:
        raise PermissionError("no pagemap here")

    monkeypatch.setattr(os, "open", refused)
    assert page_merging.mark_own_pages() == 0


# -- the controller's passes, on a directory standing in for /sys/kernel/mm/ksm ----------------


def fake_sysfs(directory: Path, **values: int) -> Path:
    settings = {"run": 0, "pages_to_scan": 100, "sleep_millisecs": 20, "full_scans": 7}
    settings.update(values)
    directory.mkdir()
    for name, value in {**settings, "pages_shared": 3, "pages_sharing": 30}.items():
        (directory / name).write_text(f"{value}\n")
    return directory


def values(sysfs: Path, *names: str) -> list[int]:
    return [int((sysfs / name).read_text()) for name in names]


def test_the_first_lease_saves_ksmd_settings_and_the_last_restores_them(tmp_path: Path) -> None:
    sysfs = fake_sysfs(tmp_path / "ksm")
    leases = tmp_path / "run" / "ksmd.json"
    first, second = Ksmd(sysfs, leases, owner=os.getpid()), Ksmd(sysfs, leases, owner=1)
    first.begin()
    assert values(sysfs, "run", "pages_to_scan", "sleep_millisecs") == [
        1,
        PASS_PAGES_TO_SCAN,
        PASS_SLEEP_MILLISECS,
    ]
    second.begin()  # pid 1 (init) is alive: its lease holds
    first.end()
    assert values(sysfs, "run", "pages_to_scan") == [1, PASS_PAGES_TO_SCAN]  # second's pass
    second.end()
    assert values(sysfs, "run", "pages_to_scan", "sleep_millisecs") == [0, 100, 20]
    assert json.loads(leases.read_text()) == {"holders": {}, "saved": {}}


def test_a_controller_killed_in_a_pass_is_dropped_and_the_settings_come_back(
    tmp_path: Path,
) -> None:
    sysfs = fake_sysfs(tmp_path / "ksm", run=1, pages_to_scan=250)  # someone's own ksmd
    leases = tmp_path / "ksmd.json"
    dead = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        Ksmd(sysfs, leases, owner=dead.pid).begin()
    finally:
        dead.kill()
        dead.wait()
    assert values(sysfs, "pages_to_scan") == [PASS_PAGES_TO_SCAN]
    Ksmd(sysfs, leases).tidy()  # what the next controller does when it starts
    assert values(sysfs, "run", "pages_to_scan", "sleep_millisecs") == [1, 250, 20]


def test_unavailable_reasons_name_the_file(tmp_path: Path) -> None:
    assert "no same-page merging" in (Ksmd(tmp_path / "missing").unavailable_reason() or "")
    sysfs = fake_sysfs(tmp_path / "ksm")
    assert Ksmd(sysfs).unavailable_reason() is None
    if os.geteuid() != 0:  # root writes whatever the mode
        (sysfs / "run").chmod(0o444)
        assert "not writable" in (Ksmd(sysfs).unavailable_reason() or "")


def quick_passes(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    delay_seconds: float,
    mark: Callable[[str], bool] = lambda school: False,
) -> tuple[Path, MergePasses[str]]:
    """Passes over a fake sysfs, polled every 10 ms; `mark` asks a school to mark its pages."""
    sysfs = fake_sysfs(tmp_path / "ksm")
    monkeypatch.setattr(ksmd_module, "POLL_SECONDS", 0.01)
    ksmd = Ksmd(sysfs, tmp_path / "ksmd.json")
    return sysfs, MergePasses(ksmd, mark, delay_seconds=delay_seconds)


def test_a_pass_waits_for_quiet_then_for_its_full_scans(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sysfs, passes = quick_passes(tmp_path, monkeypatch, delay_seconds=0.1)

    async def scenario() -> list[int]:
        seen = []
        for school in "ABC":  # three schools start 50 ms apart: one pass, after the last
            await passes.school_started(school)
            await asyncio.sleep(0.05)
        seen.append(values(sysfs, "run")[0])  # not quiet yet: ksmd not started
        await asyncio.sleep(0.2)
        seen.append(values(sysfs, "run")[0])  # started, counting its scans
        for scans in (8, 9):  # ksmd completes full scans
            (sysfs / "full_scans").write_text(f"{scans}\n")
            await asyncio.sleep(0.05)
        assert passes.passes == 0 and values(sysfs, "run") == [1]  # 7 + 3 = 10 not yet
        (sysfs / "full_scans").write_text("10\n")
        await asyncio.sleep(0.1)
        seen.append(values(sysfs, "run")[0])
        return seen

    assert asyncio.run(scenario()) == [0, 1, 0]
    assert passes.passes == 1
    assert values(sysfs, "pages_to_scan") == [100]


def test_schools_started_during_a_pass_get_the_next_one_and_a_pass_is_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sysfs, passes = quick_passes(tmp_path, monkeypatch, delay_seconds=0.05)

    async def scenario() -> None:
        await passes.school_started("A")
        await asyncio.sleep(0.1)  # the first pass runs (7 -> 10)
        assert values(sysfs, "run") == [1]
        await passes.school_started("B")  # a school (re)started during it
        (sysfs / "full_scans").write_text("10\n")  # its 3 scans: it ends all the same
        await asyncio.sleep(0.03)
        assert passes.passes == 1
        await asyncio.sleep(0.1)  # the next pass, for the late school (10 -> 13)
        assert values(sysfs, "run") == [1]
        (sysfs / "full_scans").write_text("13\n")
        await asyncio.sleep(0.05)

    asyncio.run(scenario())
    assert passes.passes == 2
    assert values(sysfs, "run", "pages_to_scan") == [0, 100]


def test_a_pass_asks_its_schools_to_mark_their_pages_then_lets_them_before_it_scans(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decision 40: the marks are asked once the wave is quiet, not during it; ksmd starts
    after MARK_SETTLE_SECONDS + MARK_SECONDS_PER_SCHOOL for each school asked; a school that
    does not run any more (mark False) is not waited for; a late school gets the next pass."""
    asked: list[tuple[str, int]] = []  # (school, ksmd's run when it was asked)
    monkeypatch.setattr(ksmd_module, "MARK_SETTLE_SECONDS", 0.1)
    monkeypatch.setattr(ksmd_module, "MARK_SECONDS_PER_SCHOOL", 0.05)

    def mark(school: str) -> bool:
        asked.append((school, values(sysfs, "run")[0]))
        return school != "gone"

    sysfs, passes = quick_passes(tmp_path, monkeypatch, delay_seconds=0.05, mark=mark)

    async def scenario() -> None:
        for school in ("A", "gone", "B"):
            await passes.school_started(school)
        assert asked == []  # not while schools start
        await asyncio.sleep(0.1)  # quiet: asked, all three, ksmd not running
        assert asked == [("A", 0), ("gone", 0), ("B", 0)]
        assert values(sysfs, "run") == [0]  # settling: 0.1 + 2 x 0.05 s
        await asyncio.sleep(0.25)
        assert values(sysfs, "run") == [1]
        await passes.school_started("late")
        (sysfs / "full_scans").write_text("10\n")
        await asyncio.sleep(0.1)  # the next pass asks the late school only
        assert asked[3:] == [("late", 0)]
        await asyncio.sleep(0.2)
        (sysfs / "full_scans").write_text("13\n")
        await asyncio.sleep(0.05)

    asyncio.run(scenario())
    assert passes.passes == 2 and passes.marks_asked == 3


def test_a_pass_after_a_dead_holder_restores_the_first_settings(tmp_path: Path) -> None:
    sysfs, leases = fake_sysfs(tmp_path / "ksm"), tmp_path / "ksmd.json"
    dead = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        Ksmd(sysfs, leases, owner=dead.pid).begin()  # killed in its pass
    finally:
        dead.kill()
        dead.wait()
    live = Ksmd(sysfs, leases)  # a controller already running: it did not tidy since
    live.begin()
    live.end()
    assert values(sysfs, "run", "pages_to_scan", "sleep_millisecs") == [0, 100, 20]


@pytest.mark.parametrize(
    "text",
    [
        "null",
        "[]",
        '{"holders": []}',
        '{"holders": {"x": 1}, "saved": {}}',
        '{"holders": {}, "saved": {"run": 0}}',
        "not json",
    ],
)
def test_a_lease_file_of_another_shape_is_set_aside(tmp_path: Path, text: str) -> None:
    sysfs, leases = fake_sysfs(tmp_path / "ksm"), tmp_path / "ksmd.json"
    leases.write_text(text)
    ksmd = Ksmd(sysfs, leases)
    ksmd.tidy()
    ksmd.begin()
    ksmd.end()
    assert values(sysfs, "run", "pages_to_scan") == [0, 100]
    assert (tmp_path / "ksmd.bad").read_text() == text
    assert json.loads(leases.read_text()) == {"holders": {}, "saved": {}}
