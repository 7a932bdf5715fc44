"""The README walkthrough, through the real `pronote-dc` command line."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.harness import Datacenter, free_pool, running_datacenter


@pytest.fixture
def demo_datacenter(tmp_path: Path) -> Iterator[Datacenter]:
    with running_datacenter(tmp_path, free_pool(), "--demo", "2") as dc:
        yield dc


def cli_json(dc: Datacenter, *args: str) -> Any:
    return json.loads(dc.cli(*args, "--json").stdout)


def test_demo_schools_are_running_with_sample_accounts(demo_datacenter: Datacenter) -> None:
    dc = demo_datacenter
    schools = cli_json(dc, "school", "list")
    assert isinstance(schools, list) and len(schools) == 2
    assert {s["state"] for s in schools} == {"running"}
    assert {s["client_port"] for s in schools} == {49300}
    assert len({s["address"] for s in schools}) == 2

    shown = cli_json(dc, "school", "show", schools[0]["uai"])
    assert isinstance(shown, dict)
    roles = {a["role"]: a for a in shown["sample_accounts"]}
    assert set(roles) == {"spr", "administratif", "enseignant", "vie_scolaire", "eleve", "parent"}
    pages = {page["page"]: page for page in shown["espaces"]}
    for espace in ("eleve", "parent", "professeur", "viescolaire"):  # an account to try each
        assert pages[espace]["url"] == f"http://{shown['address']}:8080/pronote/{espace}.html"
        assert pages[espace]["accounts"], espace
    teacher = roles["enseignant"]
    session = cli_json(
        dc, "client", "connect", shown["uai"], "--login", teacher["login"],
        "--password", teacher["password"], "--mode", "enseignant", "--hold", "0",
    )  # fmt: skip
    assert isinstance(session, dict)
    assert session["server"] == f"{shown['address']}:49300" and session["session_id"]
    table = dc.cli("school", "list").stdout
    assert shown["uai"] in table and "running" in table


def test_console_login_then_console_commands_act_on_that_school(
    demo_datacenter: Datacenter,
) -> None:
    dc = demo_datacenter
    demo_schools = [s["uai"] for s in cli_json(dc, "school", "list")]
    # The console password is shown once at provisioning; demo schools are provisioned by `up`,
    # so provision one more here as an operator would.
    added = cli_json(
        dc, "school", "add", "0750655E", "--name", "Lycée Louis-le-Grand", "--formula", "80",
        "--mobile", "06 12 34 56 78", "--email", "ce.0750655e@ac-paris.fr", "--demo",
    )  # fmt: skip
    assert isinstance(added, dict)
    assert added["school"]["responsable"]["mobile"] == "612345678"
    dc.cli(
        "console", "login", "--hosting-number", added["school"]["hosting_number"],
        "--password", added["console_password"],
        "--invoice-number", added["school"]["invoice_number"],
    )  # fmt: skip
    bases = cli_json(dc, "console", "serveur", "bases")
    assert isinstance(bases, dict) and bases["server_state"] == "SERVER_STATE_SERVING"
    dc.cli("console", "clients", "reserve-licences", "2")
    licences = cli_json(dc, "console", "clients", "licences")
    assert isinstance(licences, dict) and licences["reserved_for_administration"] == 2
    assert cli_json(dc, "console", "licences") == licences  # the flat name still works
    refused = dc.cli("console", "licences", "--uai", demo_schools[0], check=False)
    assert refused.returncode == 1 and "PERMISSION_DENIED" in refused.stderr

    dc.cli("console", "logout")
    dc.cli("school", "remove", "0750655E", "--yes")
    remaining = [s["uai"] for s in cli_json(dc, "school", "list")]
    assert remaining == demo_schools


def test_settings_are_listed_with_their_variables(tmp_path: Path) -> None:
    rows = json.loads(Datacenter(tmp_path, "127.0.0.0/8").cli("settings", "--json").stdout)
    variables = {row["variable"] for row in rows}
    assert {"PRONOTE_DC_ADDRESS_POOL", "PRONOTE_DC_MAXRETRY", "PRONOTE_DC_STATE_DIR"} <= variables


def wait_ready(dc: Datacenter, times: int) -> None:
    """Until `up` has said "ready." `times` times in its log (after its demo schools)."""
    deadline = time.monotonic() + 120
    while dc.log().count("ready.") < times:
        assert time.monotonic() < deadline, dc.log()
        time.sleep(0.1)


def test_up_demo_twice_ensures_the_demo_schools_and_the_state_keeps_its_runtime(
    demo_datacenter: Datacenter,
) -> None:
    dc = demo_datacenter
    wait_ready(dc, 1)
    first = sorted(s["uai"] for s in cli_json(dc, "school", "list"))
    assert len(first) == 2
    dc.stop()  # the schools keep running
    dc.start("--demo", "3")
    wait_ready(dc, 2)
    again = sorted(s["uai"] for s in cli_json(dc, "school", "list"))
    assert len(again) == 3 and set(first) < set(again)  # one more, not three more
    assert "2 of them were already provisioned" in dc.log()
    dc.stop()
    refused = dc.cli("up", "--runtime", "docker://", check=False)
    assert refused.returncode != 0
    assert "run on local://, not docker://" in refused.stderr, refused.stderr
    assert json.loads((dc.state_dir / "runtime.json").read_text()) == {"runtime": "local://"}
