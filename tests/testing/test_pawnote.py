"""pawnote (the JavaScript client, from npm) against schools started by the plugin: its calls
through tests/integration/pawnote/check.mjs on the `pronote_school` fixture, and the Node test
runner example of docs/testing.md starting its school with `pronote-dc-testing school`."""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pronotepy
import pytest

from pronote_dc_testing.school import School
from tests.integration.pronote_net_helpers import pawnote_dir, run_pawnote

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "pawnote.test.mjs"


@pytest.mark.pronote_date("2026-12-10T08:00")
def test_pawnote_reads_what_pronotepy_reads(pronote_school: School, tmp_path: Path) -> None:
    account = pronote_school.account("eleve")
    python_client = pronotepy.Client(pronote_school.url("eleve"), account.login, account.password)
    week = python_client.get_week(datetime.date(2026, 12, 10))
    seen = run_pawnote(
        pawnote_dir(tmp_path),
        url=pronote_school.url("eleve"),
        kind="STUDENT",
        username=account.login,
        password=account.password,
        week=week,
    )
    assert "error" not in seen, seen
    assert seen["name"] == python_client.info.name
    assert seen["period"] == python_client.current_period.name == "Trimestre 2"
    monday = datetime.date(2026, 12, 7)
    lessons = python_client.lessons(monday, monday + datetime.timedelta(days=6))
    assert sorted(lesson["id"] for lesson in seen["lessons"]) == sorted(x.id for x in lessons)


def test_the_node_test_runner_example(tmp_path: Path) -> None:
    """docs/examples/pawnote.test.mjs, as a client developer runs it with `node --test`."""
    modules = pawnote_dir(tmp_path)
    (tmp_path / "node_modules").symlink_to(modules)
    shutil.copy(EXAMPLE, tmp_path / EXAMPLE.name)
    bin_dir = Path(sys.executable).parent  # pronote-dc-testing and pronote-dc
    root = tmp_path / "root"
    result = subprocess.run(
        ["node", "--test", EXAMPLE.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        env={
            **os.environ,
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "PRONOTE_DC_TESTING_ROOT": str(root),
        },
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "# pass 3" in result.stdout
    assert not root.exists() or not list(root.iterdir())  # the school removed everything


def test_pawnote_sees_the_states_set_by_the_helpers(pronote_school: School, tmp_path: Path) -> None:
    modules = pawnote_dir(tmp_path)
    account = pronote_school.account("eleve")

    def pawnote_error() -> str:
        seen = run_pawnote(
            modules,
            url=pronote_school.url("eleve"),
            kind="STUDENT",
            username=account.login,
            password=account.password,
            week=1,
        )
        return str(seen.get("error", ""))

    pronote_school.suspend_ip()
    assert pawnote_error() == "SuspendedIPError"
    pronote_school.unblock_ip()
    pronote_school.stop_publication()
    assert pawnote_error() == "PageUnavailableError"
    pronote_school.publish()
    assert pawnote_error() == ""
