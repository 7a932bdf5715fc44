"""Same-page merging through the real kernel (DESIGN decision 35): schools started by a real
controller mark their own pages, the controller runs a ksmd pass once they are all up, their
alike pages end up merged (each school's /proc/<pid>/ksm_stat), ksmd's settings are back as
they were, and /metrics says so. Needs root and a kernel with KSM: in CI that must hold."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.request
from pathlib import Path

import pytest

from common.processes import MARK_PAGES_SIGNAL
from datacenter.adapters.ksmd import Ksmd
from tests.integration.harness import Datacenter, free_pool, running_datacenter

SCHOOLS = 5
PASS_TIMEOUT_SECONDS = 90.0


@pytest.fixture
def ksmd() -> Ksmd:
    real = Ksmd()
    reason = real.unavailable_reason()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"same-page merging must be tested in CI: {reason}")
        pytest.skip(reason)
    return real


def ksm_stat(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/ksm_stat").read_text().splitlines()
    return {key.rstrip(":"): value for key, value in (line.split(" ", 1) for line in lines)}


def private_dirty_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Private_Dirty:"):
            return int(line.split()[1])
    raise AssertionError(f"no Private_Dirty for {pid}")


def metrics(dc: Datacenter) -> dict[str, float]:
    with urllib.request.urlopen(f"http://{dc.http_address}/metrics", timeout=10) as page:
        text = page.read().decode()
    return {
        line.split()[0]: float(line.split()[1])
        for line in text.splitlines()
        if line.startswith("pronote_page_merging")
    }


def test_schools_share_their_alike_pages_after_a_pass(ksmd: Ksmd, tmp_path: Path) -> None:
    settings = ("run", "pages_to_scan", "sleep_millisecs")
    ksmd.tidy()  # drops the leases of controllers that died in a pass
    if json.loads(ksmd.leases.read_text())["holders"]:
        why = "another fleet's merging pass runs on this machine now"
        pytest.fail(why) if os.environ.get("CI") == "true" else pytest.skip(why)
    before = [ksmd.read(name) for name in settings]
    with running_datacenter(tmp_path, free_pool()) as dc:
        pids = [
            dc.provision(f"07503{index:02d}", demo=False).school.pid for index in range(SCHOOLS)
        ]
        unmerged = [private_dirty_kib(pid) for pid in pids]
        time.sleep(2.0)  # ready for 2 s: no school marked yet, they wait to be asked (40)
        assert [ksm_stat(pid)["ksm_mergeable"] for pid in pids] == ["no"] * SCHOOLS
        deadline = time.monotonic() + PASS_TIMEOUT_SECONDS
        while metrics(dc)["pronote_page_merging_passes_total"] < 1:
            assert time.monotonic() < deadline, f"no pass ended: {dc.log()}"
            time.sleep(0.5)
        for pid, dirty_before in zip(pids, unmerged, strict=True):
            stat = ksm_stat(pid)
            assert stat["ksm_mergeable"] == "yes"  # it marked its pages
            assert int(stat["ksm_merging_pages"]) >= 256  # >= 1 MiB of it merged
            # What it alone holds shrank by what was merged (~7 MiB -> ~2 at 50 schools).
            assert private_dirty_kib(pid) < dirty_before - 1024
        assert metrics(dc)["pronote_page_merging_sharing_pages"] > 0
        assert metrics(dc)["pronote_page_merging_marks_asked_total"] == SCHOOLS
        controller = dc.process.pid if dc.process else 0
    leases = json.loads(ksmd.leases.read_text())
    assert str(controller) not in leases["holders"]  # its lease given back
    if not leases["holders"]:  # nobody else's pass (another fleet on this machine) runs now
        assert [ksmd.read(name) for name in settings] == before


def test_schools_a_killed_controller_did_not_ask_are_asked_by_the_next(
    ksmd: Ksmd, tmp_path: Path
) -> None:
    """Decision 40: a controller killed between its wave and its pass asked no school; the
    next one adopts them and asks them at its first pass."""
    ksmd.tidy()
    if json.loads(ksmd.leases.read_text())["holders"]:
        why = "another fleet's merging pass runs on this machine now"
        pytest.fail(why) if os.environ.get("CI") == "true" else pytest.skip(why)
    with running_datacenter(tmp_path, free_pool()) as dc:
        pids = [dc.provision(f"07504{index:02d}", demo=False).school.pid for index in range(3)]
        dc.stop(signal.SIGKILL)  # within the 3 s of quiet a pass waits for: nobody asked
        time.sleep(1.0)
        assert [ksm_stat(pid)["ksm_mergeable"] for pid in pids] == ["no"] * 3
        dc.start()  # adopts the three
        deadline = time.monotonic() + PASS_TIMEOUT_SECONDS
        while metrics(dc)["pronote_page_merging_passes_total"] < 1:
            assert time.monotonic() < deadline, f"no pass ended: {dc.log()}"
            time.sleep(0.5)
        assert metrics(dc)["pronote_page_merging_marks_asked_total"] == 3
        assert [ksm_stat(pid)["ksm_mergeable"] for pid in pids] == ["yes"] * 3


def test_with_page_merging_off_schools_mark_nothing(ksmd: Ksmd, tmp_path: Path) -> None:
    with running_datacenter(tmp_path, free_pool(), page_merging="off") as dc:
        pid = dc.provision("0750399", demo=False).school.pid
        time.sleep(5.0)  # past the moment a pass would have asked it (3 s quiet, 1 s settling)
        os.kill(pid, MARK_PAGES_SIGNAL)  # by hand: it does not listen, the warm parent ignores it
        time.sleep(0.5)
        assert ksm_stat(pid)["ksm_mergeable"] == "no"  # alive (its ksm_stat reads) and unmarked
        assert "pronote_page_merging_passes_total" not in metrics(dc)


def test_a_wrong_page_merging_value_is_refused(tmp_path: Path) -> None:
    dc = Datacenter(tmp_path, free_pool(), page_merging="maybe")
    result = dc.cli("up", "--console-address", "127.0.0.1:0", check=False)  # refused at once
    assert result.returncode != 0
    assert "PRONOTE_DC_PAGE_MERGING='maybe' must be one of on, off" in result.stderr


def test_a_demo_school_is_not_started_again_where_its_pages_are_merged(
    ksmd: Ksmd, tmp_path: Path
) -> None:
    with running_datacenter(tmp_path, free_pool()) as dc:
        school = dc.provision("0750398", demo=True).school
        log = (dc.state_dir / "schools" / school.uai / "agent.log").read_text()
        # Populated and left running (decision 32's restart is for fleets without merging).
        assert log.count(f"school {school.uai} serving on {school.address}:49300") == 1
        bases = json.loads(dc.cli("console", "bases", "--uai", school.uai, "--json").stdout)
        assert [base["in_service"] for base in bases["bases"]] == [True]
        time.sleep(3.0)  # it marks what it wrote, its population included, 2 s after ready
        assert ksm_stat(school.pid)["ksm_mergeable"] == "yes"
