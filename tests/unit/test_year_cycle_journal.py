"""The yearly cycle's file and journal (DESIGN decision 36): a switch appends one line instead
of rewriting every school's cycle, every change is on disk when its call returns, a controller
killed while appending loses that change alone, and the journal is folded into the file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from datacenter.core import year_cycle
from datacenter.core.year_cycle import DueSwitch, YearCycle, automatic_day
from tests.dates import at

ROOT = Path(__file__).resolve().parents[2]


def uais(count: int) -> list[str]:
    return [f"{i:07d}X" for i in range(count)]


def switched(cycle: YearCycle, uai: str) -> None:
    day = automatic_day(uai, 2027).isoformat()
    cycle.record_switch(uai, DueSwitch(2027, at(f"{day}T03:00"), False), "new_base", "", "B")


def outcomes(path: Path) -> dict[str, str]:
    cycle = YearCycle(path)
    return {u: o for u in uais(400) if (o := cycle.view(u, 2027)["outcome"])}


def test_a_switch_appends_a_line_and_the_file_is_not_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "year_cycle.json"
    cycle = YearCycle(path)
    switched(cycle, "0000000X")
    cycle = YearCycle(path)  # a restart folds the journal into the file
    before = path.stat()
    assert not path.with_suffix(".journal").exists()
    for uai in uais(50)[1:]:
        switched(cycle, uai)
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert len(path.with_suffix(".journal").read_bytes().splitlines()) == 49
    assert outcomes(path) == dict.fromkeys(uais(50), "new_base")
    assert not path.with_suffix(".journal").exists()  # folded: the next start reads one file


def test_a_torn_last_line_is_skipped_and_the_journal_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "year_cycle.json"
    cycle = YearCycle(path)
    switched(cycle, "0000000X")
    switched(cycle, "0000001X")
    journal = path.with_suffix(".journal")
    whole = journal.read_bytes()
    with journal.open("ab") as out:  # a controller killed in the middle of its third append
        out.write(whole.splitlines(keepends=True)[0][:40].replace(b"0000000X", b"0000002X"))
    reread = YearCycle(path)
    assert outcomes(path) == {"0000000X": "new_base", "0000001X": "new_base"}
    switched(reread, "0000003X")
    assert outcomes(path) == dict.fromkeys(["0000000X", "0000001X", "0000003X"], "new_base")


def test_a_failed_append_leaves_no_torn_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "year_cycle.json"
    cycle = YearCycle(path)
    switched(cycle, "0000000X")
    size = path.with_suffix(".journal").stat().st_size

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fdatasync", full_disk)
    with pytest.raises(OSError, match="No space"):
        switched(cycle, "0000001X")
    assert path.with_suffix(".journal").stat().st_size == size
    monkeypatch.undo()
    switched(cycle, "0000002X")
    assert outcomes(path) == {"0000000X": "new_base", "0000002X": "new_base"}


def test_a_forgotten_school_stays_forgotten(tmp_path: Path) -> None:
    path = tmp_path / "year_cycle.json"
    cycle = YearCycle(path)
    switched(cycle, "0000000X")
    switched(cycle, "0000001X")
    cycle.forget("0000000X")
    assert outcomes(path) == {"0000001X": "new_base"}
    YearCycle(path).forget("0000001X")  # also from the folded file
    assert outcomes(path) == {}


def test_the_journal_is_folded_once_longer_than_the_cycles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(year_cycle, "JOURNAL_SLACK", 3)
    path = tmp_path / "year_cycle.json"
    cycle = YearCycle(path)
    for _ in range(20):  # the same school's cycle changed again and again
        cycle.defer("0000000X", at("2027-08-01"), "2027-09-15", keep_base=False)
        cycle.defer("0000000X", at("2027-08-01"), "2027-09-16", keep_base=True)
    journal = path.with_suffix(".journal")
    assert path.exists()  # folded at least once, without a restart
    assert (len(journal.read_bytes().splitlines()) if journal.exists() else 0) <= 1 + 3
    assert YearCycle(path).view("0000000X", 2027)["switch_on"] == "2027-09-16"


def test_a_controller_killed_while_recording_keeps_every_switch_it_returned_from(
    tmp_path: Path,
) -> None:
    """A real process records switches and says so after each call returns; SIGKILLed at a
    moment of its own, every switch it reported is read back, and the file still reads."""
    path = tmp_path / "year_cycle.json"
    script = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from datacenter.core.year_cycle import DueSwitch, YearCycle, at, automatic_day
        cycle = YearCycle(Path({str(path)!r}))
        for i in range(400):
            uai = f"{{i:07d}}X"
            switch = DueSwitch(2027, at(automatic_day(uai, 2027)), False)
            cycle.record_switch(uai, switch, "new_base", "", "B")
            print(uai, flush=True)
        import time; time.sleep(60)
        """)
    process = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    reported = [process.stdout.readline().strip() for _ in range(150)]
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    reported += process.stdout.read().split()
    found = outcomes(path)
    assert set(reported) <= set(found)
    assert set(found) - set(reported) <= {f"{len(reported):07d}X"}  # the one being reported
