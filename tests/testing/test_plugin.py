"""The pytest plugin tested with pytest's own `pytester`: real pytest runs in subprocesses
using the plugin's fixtures, with the real pronotepy client, then what they left is checked."""

from __future__ import annotations

import json
import signal
import socket
from pathlib import Path
from typing import Any

import pytest

from common.processes import start_ticks

pytestmark = pytest.mark.integration

# Each inner test records what it ran on; the outer test checks it is all gone afterwards.
RECORDER = """
import json, os, pronotepy

def record(school, **extra):
    dc = school.datacenter
    controller = json.loads((dc.state_dir / "controller.json").read_text())
    with open(os.environ["RECORD_FILE"], "a") as out:
        out.write(json.dumps({
            "worker": os.environ.get("PYTEST_XDIST_WORKER", ""),
            "uai": school.uai, "address": school.address, "pool": dc.pool,
            "directory": str(dc.claim.directory), "state_dir": str(dc.state_dir),
            "pids": [controller["pid"], school.details["pid"]], **extra,
        }) + "\\n")

def student(school):
    account = school.account("eleve")
    return pronotepy.Client(school.url("eleve"), account.login, account.password)
"""


@pytest.fixture
def inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A private plugin root and a record file for the inner pytest runs."""
    monkeypatch.setenv("PRONOTE_DC_TESTING_ROOT", str(tmp_path / "root"))
    monkeypatch.setenv("RECORD_FILE", str(tmp_path / "record.jsonl"))
    pytester.makepyfile(recorder=RECORDER)
    return tmp_path


def records(tmp_path: Path) -> list[dict[str, Any]]:
    lines = (tmp_path / "record.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def processes_of(state_dir: str) -> list[int]:
    """Every process started for a data-center: they all inherit its PRONOTE_DC_STATE_DIR
    (controller, warm parent, school servers, helpers)."""
    marker = f"PRONOTE_DC_STATE_DIR={state_dir}".encode() + b"\0"
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if marker in environ.read_bytes():
                found.append(int(environ.parent.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def assert_nothing_left(tmp_path: Path, recorded: list[dict[str, Any]]) -> None:
    """No process, no address, no file of the recorded data-centers."""
    for entry in recorded:
        for pid in entry["pids"]:
            assert start_ticks(pid) is None, f"process {pid} still runs"
        assert processes_of(entry["state_dir"]) == []
        with socket.socket() as sock:
            sock.bind((entry["address"], 49300))  # the school's address is free again
        assert not Path(entry["directory"]).exists()
    root = tmp_path / "root"
    assert not root.exists() or not list(root.iterdir())


def test_fixtures_start_and_stop_cleanly(pytester: pytest.Pytester, inner: Path) -> None:
    pytester.makepyfile(
        """
        from recorder import record, student

        def test_per_test_school(pronote_school):
            assert pronote_school.port == 49300
            assert pronote_school.url("eleve", mobile=True).endswith("/pronote/mobile.eleve.html")
            assert {"spr", "administratif", "enseignant", "vie_scolaire", "parent", "eleve"} <= set(
                pronote_school.accounts)
            record(pronote_school, name=student(pronote_school).info.name)

        def test_session_school(pronote_session_school, pronote_school):
            assert pronote_session_school.address != pronote_school.address
            record(pronote_session_school, name=student(pronote_session_school).info.name)
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    recorded = records(inner)
    assert [r["uai"] for r in recorded] == ["0750001U", "0690001B"]
    assert all(r["name"] for r in recorded)  # pronotepy logged in to both
    assert_nothing_left(inner, recorded)


def test_parallel_workers_get_separate_schools(pytester: pytest.Pytester, inner: Path) -> None:
    pytester.makepyfile(
        """
        import time
        from recorder import record, student

        def test_one(pronote_school):
            record(pronote_school, name=student(pronote_school).info.name)
            time.sleep(1)  # both schools up at once

        def test_two(pronote_school):
            record(pronote_school, name=student(pronote_school).info.name)
            time.sleep(1)
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2")
    result.assert_outcomes(passed=2)
    one, two = records(inner)
    assert {one["worker"], two["worker"]} == {"gw0", "gw1"}
    assert one["pool"] != two["pool"] and one["address"] != two["address"]
    assert one["uai"] == two["uai"] and one["name"] == two["name"]  # same seed, same school
    assert_nothing_left(inner, [one, two])


def test_a_killed_test_process_leaves_nothing_after_the_next_run(
    pytester: pytest.Pytester, inner: Path
) -> None:
    pytester.makepyfile(
        test_killed="""
        import os, signal
        from recorder import record

        def test_killed(pronote_school):
            record(pronote_school)
            os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    killed = pytester.runpytest_subprocess("-p", "no:cacheprovider", "test_killed.py")
    assert killed.ret == -signal.SIGKILL
    (recorded,) = records(inner)
    assert all(start_ticks(pid) is not None for pid in recorded["pids"])  # left running
    assert len(processes_of(recorded["state_dir"])) >= 3  # controller, warm parent, school
    assert Path(recorded["directory"]).exists()

    pytester.makepyfile(test_next="def test_nothing():\n    pass\n")
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "test_next.py").assert_outcomes(
        passed=1
    )
    assert_nothing_left(inner, [recorded])


def test_the_date_marker_sets_the_simulated_date(pytester: pytest.Pytester, inner: Path) -> None:
    pytester.makepyfile(
        """
        import datetime, pytest
        from recorder import record, student

        @pytest.mark.pronote_date("2026-12-10")
        def test_later_first(pronote_school):
            assert pronote_school.now() == datetime.datetime(2026, 12, 10, tzinfo=datetime.UTC)
            assert student(pronote_school).current_period.name == "Trimestre 2"
            record(pronote_school)

        @pytest.mark.pronote_date("2026-11-20T08:00")
        def test_earlier_then_advanced(pronote_school):
            client = student(pronote_school)
            assert pronote_school.now() == datetime.datetime(2026, 11, 20, 8, tzinfo=datetime.UTC)
            assert client.current_period.name == "Trimestre 1"
            pronote_school.advance_clock("2026-12-10")
            assert student(pronote_school).current_period.name == "Trimestre 2"
            record(pronote_school)
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    later, earlier = records(inner)
    assert later["pool"] != earlier["pool"]  # the shared clock was past 20 Nov: its own
    assert_nothing_left(inner, [later, earlier])


def test_the_plugin_costs_nothing_unless_used(pytester: pytest.Pytester, inner: Path) -> None:
    pytester.makepyfile(
        """
        import sys

        def test_plain(pytestconfig):
            assert pytestconfig.pluginmanager.has_plugin("pronote_dc")  # loaded by entry point
            assert "pronote_dc_testing.embedded" not in sys.modules  # no gRPC, no data-center
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
    assert not (inner / "root").exists()
