"""The Locust user class, run headless for a few seconds against a small real fleet."""

from __future__ import annotations

import csv
import importlib.util
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from protos import common_pb2, console_pb2
from tests.integration.harness import Datacenter, free_pool, running_datacenter

LOCUSTFILE = str(Path(__file__).resolve().parents[2] / "loadtest" / "locustfile.py")
# Only look for locust: importing it here would gevent-patch the test process (and its children).
if importlib.util.find_spec("locust") is None:
    pytest.skip(
        "install the dev (or locust) extra: pip install -e '.[dev]'", allow_module_level=True
    )


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Datacenter]:
    with running_datacenter(tmp_path, free_pool(first_octets="127.90")) as dc:
        yield dc


def locust(dc: Datacenter, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**dc.env, "PRONOTE_DC_LOAD_SOURCE_POOL": f"127.91.{random.randrange(256)}.0/24"}
    return subprocess.run(
        [sys.executable, "-m", "locust", "-f", LOCUSTFILE, "--headless", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_short_headless_run_opens_sessions_and_leaves_none_behind(
    fleet: Datacenter, tmp_path: Path
) -> None:
    schools = [fleet.provision("0750201").school, fleet.provision("0750202").school]
    result = locust(
        fleet, tmp_path, "-u", "4", "-r", "4", "--run-time", "3s", "--csv", str(tmp_path / "run")
    )
    assert result.returncode == 0, result.stderr[-2000:]
    with (tmp_path / "run_stats.csv").open() as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    assert (
        int(rows["connect"]["Request Count"]) >= 4 and int(rows["heartbeat"]["Request Count"]) > 0
    )
    assert rows["Aggregated"]["Failure Count"] == "0"
    for school in schools:  # every Locust user disconnected when the run ended
        reply = fleet.operator().ListConnections(console_pb2.SchoolRef(uai=school.uai))
        assert [c for c in reply.connections if c.mode != common_pb2.MODE_UNSPECIFIED] == []


def test_a_run_without_run_time_is_refused(fleet: Datacenter, tmp_path: Path) -> None:
    fleet.provision("0750203")
    result = locust(fleet, tmp_path, "-u", "1", "-r", "1")
    assert result.returncode != 0
    assert "unbounded run is refused" in result.stderr + result.stdout
