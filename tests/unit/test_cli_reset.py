"""`pronote-dc down --purge`: a clean state, and never a directory pronote-dc did not make."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from datacenter.cli.app import app


def down_purge(state_dir: Path) -> tuple[int, str]:
    env = {"PRONOTE_DC_STATE_DIR": str(state_dir), "COLUMNS": "200"}
    result = CliRunner().invoke(app, ["down", "--purge", "--yes"], env=env)
    return result.exit_code, result.output


def test_a_state_directory_is_deleted(tmp_path: Path) -> None:
    state = tmp_path / "state"
    (state / "schools" / "0750655E").mkdir(parents=True)
    for name in ("registry.sqlite3", "operator.token", "runtime.json", "clock.json"):
        (state / name).write_text("x")
    code, output = down_purge(state)
    assert code == 0, output
    assert not state.exists()
    assert "starts afresh" in output


def test_a_directory_holding_other_files_is_refused_and_kept(tmp_path: Path) -> None:
    (tmp_path / "registry.sqlite3").write_text("x")
    (tmp_path / "thesis.tex").write_text("keep me")
    code, output = down_purge(tmp_path)
    assert code != 0
    assert "thesis.tex" in output and "Nothing was deleted" in output
    assert (tmp_path / "thesis.tex").read_text() == "keep me"
    assert (tmp_path / "registry.sqlite3").exists()
