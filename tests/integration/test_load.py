"""`pronote-dc load` against a small real fleet: each scenario's report matches what the
schools' servers recorded (connections, licences, suspended IPs)."""

from __future__ import annotations

import csv
import json
import random
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from protos import common_pb2, console_pb2
from tests.integration.harness import (
    PRONOTE_DC,
    Datacenter,
    client,
    free_pool,
    rpc_error,
    running_datacenter,
    wait_for,
)


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Datacenter]:
    with running_datacenter(tmp_path, free_pool(first_octets="127.90")) as dc:
        yield dc


def source_pool() -> str:
    return f"127.91.{random.randrange(256)}.0/24"


def start_load(dc: Datacenter, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*PRONOTE_DC, "load", "--json", *args],
        env=dc.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def report_of(process: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return dict(json.loads(out))


def connections(dc: Datacenter, uai: str) -> list[Any]:
    """Client PRONOTE connections (PRONOTE.net's own rows have no mode)."""
    rows = dc.operator().ListConnections(console_pb2.SchoolRef(uai=uai)).connections
    return [c for c in rows if c.mode != common_pb2.MODE_UNSPECIFIED]


def licences(dc: Datacenter, uai: str) -> Any:
    return dc.operator().GetLicences(console_pb2.SchoolRef(uai=uai))


def suspended(dc: Datacenter, uai: str) -> list[str]:
    reply = dc.operator().ListSuspendedIps(console_pb2.SchoolRef(uai=uai))
    return sorted(s.ip for s in reply.suspended_ips)


def school_row(report: dict[str, Any], uai: str) -> dict[str, Any]:
    return dict(next(row for row in report["schools"] if row["uai"] == uai))


def in_network(ip: str, network: str) -> bool:
    import ipaddress

    return ipaddress.ip_address(ip) in ipaddress.ip_network(network)


def test_steady_state_clients_are_distinct_and_the_report_matches_the_servers(
    fleet: Datacenter, tmp_path: Path
) -> None:
    schools = [fleet.provision("0750101").school, fleet.provision("0750102").school]
    pool, series = source_pool(), tmp_path / "series.csv"
    process = start_load(
        fleet,
        *("--users", "6", "--sessions", "6", "--session-length", "8", "--think-time", "0.5"),
        *("--ramp-up", "0", "--mix", "enseignant=2,vie_scolaire=1", "--source-pool", pool),
        *("--csv", str(series)),
    )

    # While every session is open, the servers see six clients from six addresses.
    def all_connected() -> list[Any]:
        rows = [c for s in schools for c in connections(fleet, s.uai)]
        return rows if len(rows) == 6 else []

    live = wait_for(all_connected)
    sources = {c.source_ip for c in live}
    assert len(sources) == 6 and all(in_network(ip, pool) for ip in sources)
    per_school = {s.uai: len(connections(fleet, s.uai)) for s in schools}
    teachers = {s.uai: licences(fleet, s.uai).enseignant_in_use for s in schools}

    report = report_of(process)
    assert report["stopped_by"] == "sessions"
    assert report["distinct_source_ips"] == 6
    assert report["sessions"] == {
        "attempted": 6, "opened": 6, "refused": 0, "failed": 0, "still_open": 0,
        "attacker_attempts": 0, "attacker_refused": 0,
    }  # fmt: skip
    for school in schools:
        row = school_row(report, school.uai)
        assert row["sessions_opened"] == per_school[school.uai] == 3
        assert teachers[school.uai] == 2  # distinct teachers: one account per simulated teacher
        assert connections(fleet, school.uai) == []  # every session was disconnected
    operations = {row["operation"]: row for row in report["operations"]}
    assert operations["connect"]["ok"] == operations["disconnect"]["ok"] == 6
    assert operations["heartbeat"]["ok"] >= 6 and report["errors"] == []
    for row in operations.values():
        assert 0 < row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"] <= row["max_ms"]
    assert report["rpcs"]["total"] == sum(row["calls"] for row in operations.values())
    with series.open() as handle:
        rows = list(csv.DictReader(handle))
    assert (
        rows
        and int(rows[-1]["sessions_opened"]) == 6
        and int(rows[-1]["rpcs"]) == (report["rpcs"]["total"])
    )


def test_rush_teachers_beyond_the_formula_are_refused(fleet: Datacenter) -> None:
    school = fleet.provision("0750103", formula=console_pb2.FORMULA_30).school
    process = start_load(
        fleet,
        *("--scenario", "rush", "--users", "33", "--sessions", "33", "--session-length", "8"),
        *("--source-pool", source_pool()),
    )
    peak = wait_for(
        lambda: (
            licences(fleet, school.uai).enseignant_in_use == 30 and connections(fleet, school.uai)
        )
    )
    assert len({c.user for c in peak}) == 30 and len({c.source_ip for c in peak}) == 30

    report = report_of(process)
    assert report["sessions"]["opened"] == 30 and report["sessions"]["refused"] == 3
    assert report["refusals"] == [
        {"who": "users", "code": "RESOURCE_EXHAUSTED", "reason": "teacher licences in use",
         "count": 3}
    ]  # fmt: skip
    assert connections(fleet, school.uai) == []


def test_licence_exhaustion_refuses_administrators_beyond_the_licences(fleet: Datacenter) -> None:
    school = fleet.provision("0750104", administratif_licences=2).school
    process = start_load(
        fleet,
        *("--scenario", "licences", "--users", "5", "--sessions", "5", "--session-length", "8"),
        *("--source-pool", source_pool()),
    )
    wait_for(lambda: licences(fleet, school.uai).administratif_in_use == 2)
    in_use = [licences(fleet, school.uai).administratif_in_use]

    report = report_of(process)
    row = school_row(report, school.uai)
    assert (row["sessions_opened"], row["sessions_refused"]) == (2, 3) and in_use == [2]
    assert report["refusals"] == [
        {"who": "users", "code": "RESOURCE_EXHAUSTED",
         "reason": "licences en modification in use", "count": 3}
    ]  # fmt: skip


def test_brute_force_suspends_the_attackers_only(fleet: Datacenter) -> None:
    schools = [fleet.provision("0750105").school, fleet.provision("0750106").school]
    pool = source_pool()
    process = start_load(
        fleet,
        *("--scenario", "bruteforce", "--users", "4", "--sessions", "8"),
        *("--session-length", "0.2", "--think-time", "0.05", "--attackers", "2"),
        *("--attempts-per-attacker", "7", "--source-pool", pool),
    )
    report = report_of(process)

    assert report["sessions"]["opened"] == 8 and report["sessions"]["refused"] == 0
    assert report["sessions"]["attacker_attempts"] == 14
    refusals = {(r["who"], r["code"]): r["count"] for r in report["refusals"]}
    assert refusals == {("attackers", "UNAUTHENTICATED"): 10, ("attackers", "PERMISSION_DENIED"): 4}
    for school in schools:
        attackers = school_row(report, school.uai)["suspended_sources"]
        assert len(attackers) == 1 and in_network(attackers[0], pool)
        assert suspended(fleet, school.uai) == attackers


def test_unbounded_or_unknown_targets_are_refused_before_any_load(fleet: Datacenter) -> None:
    school = fleet.provision("0750107").school
    result = fleet.cli("load", "--users", "2", check=False)
    assert result.returncode == 1 and "unbounded run is refused" in result.stderr
    assert "--duration" in result.stderr
    result = fleet.cli("load", "--sessions", "2", "--schools", "0750655E", check=False)
    assert result.returncode == 1 and "no school 0750655E" in result.stderr
    result = fleet.cli("load", "--duration", "99999", check=False)
    assert result.returncode == 1 and "--duration must be between" in result.stderr
    assert connections(fleet, school.uai) == []


def test_sample_accounts_are_added_once_by_the_operator_only(fleet: Datacenter) -> None:
    school = fleet.provision("0750108").school
    operator = fleet.operator()
    ensure = console_pb2.EnsureSampleAccountsRequest
    grown = operator.EnsureSampleAccounts(ensure(uai=school.uai, role="enseignant", count=3))
    again = operator.EnsureSampleAccounts(ensure(uai=school.uai, role="enseignant", count=2))
    teachers = [a for a in again.sample_accounts if a.role == "enseignant"]
    assert list(grown.sample_accounts) == list(again.sample_accounts) and len(teachers) == 3
    assert len({a.login for a in teachers}) == 3
    with client(school.address) as c:  # the new accounts exist on the school's server
        c.connect(teachers[-1].login, teachers[-1].password, common_pb2.MODE_ENSEIGNANT)

    error = rpc_error(operator.EnsureSampleAccounts, ensure(uai=school.uai, role="spr", count=2))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "choose" in error.details()
    error = rpc_error(operator.EnsureSampleAccounts, ensure(uai=school.uai, role="enseignant"))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    plain = fleet.provision("0750109", demo=False).school
    error = rpc_error(
        operator.EnsureSampleAccounts, ensure(uai=plain.uai, role="enseignant", count=2)
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and "demo" in error.details()
    provisioned = fleet.provision("0750110")
    login = fleet.console().Login(
        console_pb2.LoginRequest(
            hosting_number=provisioned.school.hosting_number,
            password=provisioned.console_password,
            invoice_number=provisioned.school.invoice_number,
        )
    )
    scoped = fleet.console(login.token)
    request = ensure(uai=provisioned.school.uai, role="enseignant", count=2)
    assert rpc_error(scoped.EnsureSampleAccounts, request).code() == (
        grpc.StatusCode.PERMISSION_DENIED
    )
