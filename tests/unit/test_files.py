"""Atomic JSON writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from common.files import read_json, write_json_atomically


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


def test_default_mode_is_world_readable(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    write_json_atomically(path, {"k": "v"})
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


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
