"""A simulated school year for 5 schools through a real data-center (DOMAIN.md "Backups and
archives", "Yearly cycle"; seed 001, seed 003 p.9, seed 004 Fiches 6, 10, 12): the clock is
advanced from the console API and the CLI, never slept. On chosen dates: the exact backups
and archives kept, the July archive, the pre-version window, both outcomes of the August
switch and a deferral, then last year's data recovered into the new base."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from protos import common_pb2, console_pb2
from tests.dates import at
from tests.integration.harness import (
    Datacenter,
    account,
    advance,
    backups,
    client,
    free_pool,
    rpc_error,
    uai,
)

OLD, NEW = "2026-2027", "2027-2028"
JULY = f"Annee Base {OLD} fin d'année.archs"
# Schools whose automatic days (from a hash of the UAI) are 22, 21, 22, 23 and 24 August.
A, B, C, D, E = (uai(d) for d in ("0752000", "0752001", "0752002", "0752003", "0752009"))


def day(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC).date().isoformat()


@pytest.fixture
def dc(tmp_path: Path) -> Iterator[Datacenter]:
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    datacenter = Datacenter(
        state_dir,
        free_pool(first_octets="127.150"),
        clock="simulated",
        clock_start="2026-09-01",
        scheduler_interval_seconds="3600",  # only the advances run the schedule
    )
    datacenter.start()
    try:
        yield datacenter
    finally:
        datacenter.down()


def bases(dc: Datacenter, school: str) -> dict[str, Any]:
    reply = dc.operator().ListBases(console_pb2.SchoolRef(uai=school))
    return {b.school_year: b for b in reply.bases}


def in_service(dc: Datacenter, school: str) -> Any:
    return next(b for b in bases(dc, school).values() if b.in_service)


def logs_in(
    address: str, who: Any, mode: common_pb2.Mode.ValueType = common_pb2.MODE_ADMINISTRATIF
) -> bool:
    with client(address) as c:
        try:
            c.connect(who.login, who.password, mode)
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.UNAUTHENTICATED, error.details()
            return False
    return True


def check_kept(dc: Datacenter, school: str, now: str, year_of: Any) -> None:
    """Exactly the last 12 sauvegardes (2-hour slots) and the last 30 daily archives, named
    after the base in service when made, and the July archive once made."""
    found = backups(dc, school)
    end = at(now)
    last_slot = end - end % 7200
    slots = [last_slot - 7200 * i for i in range(12)]
    saves = sorted((b for b in found if b.kind == "sauvegarde"), key=lambda b: b.made_at_seconds)
    assert [b.made_at_seconds for b in saves] == sorted(slots)
    hour = {s: datetime.datetime.fromtimestamp(s, datetime.UTC).hour for s in slots}
    assert {b.name for b in saves} == {
        f"Base année {year_of(s)}{hour[s] // 2 + 1:02d}.sauvs" for s in slots
    }
    today = datetime.datetime.fromtimestamp(end, datetime.UTC).date()
    if datetime.datetime.combine(today, datetime.time(4, 33), datetime.UTC).timestamp() > end:
        today -= datetime.timedelta(days=1)
    days = [today - datetime.timedelta(days=i) for i in range(30)]
    archive_times = [
        datetime.datetime.combine(d, datetime.time(4, 33), datetime.UTC).timestamp() for d in days
    ]
    assert {b.name for b in found if b.kind == "archive"} == {
        f"Annee Base {year_of(t)}_{day(t).replace('-', '')}_04h33.archs" for t in archive_times
    }


def test_a_school_year_for_five_schools(dc: Datacenter, tmp_path: Path) -> None:
    schools = {u: dc.provision(u[:7]).school for u in (A, B, C, D, E)}
    operator = dc.operator()

    # Autumn: the exact backups and archives kept, for every school.
    reply = advance(dc, "2026-10-15T12:00")
    assert (reply.schools, reply.backups_due, reply.archives_due) == (5, 5 * 534, 5 * 45)
    for school in schools:
        check_kept(dc, school, "2026-10-15T12:00", lambda _: OLD)

    # Early July: the pre-version is not out yet; the July archive is made on 5 July.
    dc.cli("clock", "advance", "2027-07-04T12:00")
    early = rpc_error(operator.RequestPreversion, console_pb2.SchoolRef(uai=B))
    assert early.code() == grpc.StatusCode.FAILED_PRECONDITION and "2027-07-06" in early.details()
    assert in_service(dc, B).school_year == OLD
    advance(dc, "2027-07-10T12:00")
    for school in schools:
        (july,) = [b for b in backups(dc, school) if b.kind == "year_end"]
        assert (july.name, july.made_at_seconds) == (JULY, at("2027-07-05T04:33"))

    # B takes the pre-version: last year's base replaced by an empty new one, SPR kept.
    shown = json.loads(dc.cli("year", "preversion", "--uai", B, "--json").stdout)
    assert (shown["choice"], shown["preversion_on"]) == ("preversion", "2027-07-10")
    assert in_service(dc, B).school_year == NEW and not bases(dc, B)[OLD].in_service
    assert logs_in(schools[B].address, account(schools[B], "spr"))
    assert not logs_in(schools[B].address, account(schools[B], "administratif"))

    # C defers its switch; dates in the past or beyond 30 September are refused.
    for bad in ("2027-07-09", "2027-10-01", "not a date"):
        request = console_pb2.DeferSwitchRequest(uai=C, date=bad)
        refused = rpc_error(operator.DeferSwitch, request)
        assert refused.code() == grpc.StatusCode.INVALID_ARGUMENT, bad
    dc.cli("year", "defer", "2027-08-28", "--new-base", "--uai", C)

    # 21 July: too late for E's pre-version.
    advance(dc, "2027-07-21T12:00")
    late = rpc_error(operator.RequestPreversion, console_pb2.SchoolRef(uai=E))
    assert late.code() == grpc.StatusCode.FAILED_PRECONDITION and "2027-07-20" in late.details()

    # D puts its new year's base in service itself before August.
    operator.StopServer(console_pb2.SchoolRef(uai=D))
    new_d = operator.CreateBase(console_pb2.CreateBaseRequest(uai=D, school_year=NEW))
    operator.PutBaseInService(
        console_pb2.PutBaseInServiceRequest(
            uai=D, base_id=new_d.id, spr_login="spr", spr_password="spr-de-d-2027"
        )
    )

    # The rest of the year from the CLI, a day a step, with its report.
    report = json.loads(dc.cli("clock", "school-year", "--json").stdout)
    assert report["steps"] == 41
    rows = {row["uai"]: row for row in report["schools"]}
    assert {u: rows[u]["july_archive"] for u in schools} == dict.fromkeys(schools, JULY)
    assert rows[B]["preversion_on"] == "2027-07-10"
    outcomes = {u: (rows[u]["outcome"], rows[u]["switch_on"]) for u in schools}
    assert outcomes == {
        A: ("new_base", "2027-08-22"),
        B: ("kept", "2027-08-21"),
        C: ("new_base", "2027-08-28"),  # deferred
        D: ("kept", "2027-08-23"),
        E: ("new_base", "2027-08-24"),
    }
    for school in (A, C, E):
        new = in_service(dc, school)
        assert new.school_year == NEW and not new.records
        assert day(new.created_at_seconds) == outcomes[school][1]
        assert new.spr_login == "spr"
    assert in_service(dc, D).id == new_d.id

    switched = at("2027-08-22T03:00")
    check_kept(dc, A, "2027-08-31T23:59", lambda t: NEW if t >= switched else OLD)
    assert JULY in {b.name for b in backups(dc, A)}

    # A: the SPR logs in to the new base; last year's users come back with the recovery.
    school_a = schools[A]
    teacher = account(school_a, "enseignant")
    assert logs_in(school_a.address, account(school_a, "spr"))
    assert not logs_in(school_a.address, teacher, common_pb2.MODE_ENSEIGNANT)
    unknown = console_pb2.RecoverLastYearRequest(uai=A, kinds=["maquettes", "bulletins"])
    refused = rpc_error(operator.RecoverLastYear, unknown)
    assert refused.code() == grpc.StatusCode.INVALID_ARGUMENT and "bulletins" in refused.details()
    assert not in_service(dc, A).records
    recovered = json.loads(
        dc.cli(
            "year", "recover", "--uai", A, "--kind", "identifiants_et_mots_de_passe",
            "--kind", "Maquettes", "--json",
        ).stdout
    )  # fmt: skip
    last_year = bases(dc, A)[OLD]
    assert recovered["archive"] == JULY
    carried = {k["kind"]: k["records"] for k in recovered["kinds"]}
    assert carried["maquettes"] == last_year.records["maquettes"]
    assert carried["identifiants_et_mots_de_passe"] > 0  # last year's users, the SPR excepted
    assert dict(in_service(dc, A).records) == carried
    assert logs_in(school_a.address, teacher, common_pb2.MODE_ENSEIGNANT)

    # E: a July archive failing its SHA-256 is refused and nothing changes.
    archive = dc.state_dir / "backups" / E / JULY
    archive.write_bytes(archive.read_bytes()[:-10])
    corrupt = rpc_error(
        operator.RecoverLastYear, console_pb2.RecoverLastYearRequest(uai=E, all=True)
    )
    assert corrupt.code() == grpc.StatusCode.DATA_LOSS and JULY in corrupt.details()
    assert not in_service(dc, E).records
    assert not logs_in(
        schools[E].address, account(schools[E], "enseignant"), common_pb2.MODE_ENSEIGNANT
    )

    # A school hosted since August has no July archive to recover from.
    late_school = dc.provision("0752005").school
    missing = rpc_error(
        operator.RecoverLastYear, console_pb2.RecoverLastYearRequest(uai=late_school.uai, all=True)
    )
    assert missing.code() == grpc.StatusCode.NOT_FOUND and "July archive" in missing.details()
