"""Atomic JSON writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from common.files import (
    make_private,
    read_json,
    remove_temp_files,
    temp_file,
    write_json_atomically,
)


def test_writes_json_that_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    write_json_atomically(path, {"b": 1, "a": ["é", None]})
    assert read_json(path) == {"b": 1, "a": ["é", None]}


def test_creates_missing_parent_directories(tmp_path: Path) -> None:
    path = tmp_path / "schools" / "0750655E" / "state.json"
    write_json_atomically(path, [1])
    assert read_json(path) == [1]


def test_replaces_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    write_json_atomically(path, {"version": 1})
    write_json_atomically(path, {"version": 2})
    assert read_json(path) == {"version": 2}


def test_leaves_no_temporary_file_behind(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    write_json_atomically(path, {"version": 1})
    write_json_atomically(path, {"version": 2})
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o644])
def test_applies_the_mode(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "state.json"
    write_json_atomically(path, {"k": "v"}, mode=mode)
    assert stat.S_IMODE(path.stat().st_mode) == mode


def test_default_mode_is_private(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    write_json_atomically(path, {"k": "v"})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_temp_files_of_killed_writes_are_recognised_and_only_they(tmp_path: Path) -> None:
    fd, name = temp_file(tmp_path, "agent.json")
    os.close(fd)
    legacy = tmp_path / ".Base année 2026-202701.sauvs.k2j4_x9a"  # before the .tmp suffix
    legacy.write_bytes(b"half")
    kept = [tmp_path / "agent.json", tmp_path / ".hidden", tmp_path / "operator.token"]
    for path in kept:
        path.write_text("x")
    assert remove_temp_files(tmp_path) == 2
    assert not Path(name).exists() and not legacy.exists()
    assert all(path.exists() for path in kept)


def test_make_private_takes_group_and_other_bits_off(tmp_path: Path) -> None:
    (tmp_path / "schools").mkdir(mode=0o755)
    (tmp_path / "schools" / "agent.log").write_text("x")
    os.chmod(tmp_path / "schools" / "agent.log", 0o644)
    os.chmod(tmp_path, 0o755)
    assert make_private(tmp_path) == 3
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "schools").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "schools" / "agent.log").stat().st_mode) == 0o600
    assert make_private(tmp_path) == 0


def test_failed_write_keeps_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.json"
    write_json_atomically(path, {"version": 1})

    def refuse(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        write_json_atomically(path, {"version": 2})
    assert read_json(path) == {"version": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_unserialisable_value_leaves_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    write_json_atomically(path, {"version": 1})
    with pytest.raises(TypeError):
        write_json_atomically(path, {"version": object()})
    assert read_json(path) == {"version": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]
