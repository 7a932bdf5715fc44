"""PRONOTE.net on a real running data-center (`pronote-dc up`), several schools on a simulated
clock: pronotepy logs in on each school's own address and reads that school's base; web users
show in the console's connection list without taking licences; a bad web password counts
toward the same IP suspension as port 49300; advancing the clock expires web sessions."""

from __future__ import annotations

import datetime
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pronotepy
import pytest

from common.relay import SourceAddressRelay
from protos import common_pb2, console_pb2
from tests.integration.harness import (
    Datacenter,
    client,
    free_pool,
    rpc_error,
    running_datacenter,
    uai,
)
from tests.integration.pronote_net_helpers import YEAR, visible
from vm_agent.domain import synthetic
from vm_agent.domain.counters import RESOURCE_FIELDS, BaseCounters
from vm_agent.domain.school_data import SchoolData

START = "2026-10-06T17:00:00"
TODAY = datetime.date(2026, 10, 6)
SCHOOLS = ("0756100", "0696100")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Two schools whose base in service holds their synthetic school, with web passwords
    issued to a student, a parent and a CPE of each."""
    tmp_path = tmp_path_factory.mktemp("pronote-net-fleet")
    pool = free_pool(first_octets="127.130")
    with running_datacenter(
        tmp_path, pool, clock="simulated", clock_start=START, scheduler_interval_seconds="0.5"
    ) as dc:
        schools = {}
        for digits in SCHOOLS:
            school = dc.provision(digits, demo=False).school
            schools[school.uai] = _synthetic_school(dc, school)
        yield {"dc": dc, "schools": schools}


def _synthetic_school(dc: Datacenter, school: Any) -> dict[str, Any]:
    operator = dc.operator()
    base = operator.CreateBase(
        console_pb2.CreateBaseRequest(uai=school.uai, school_year=YEAR, synthetic_seed=school.uai)
    )
    operator.PutBaseInService(
        console_pb2.PutBaseInServiceRequest(
            uai=school.uai, base_id=base.id, spr_login="spr", spr_password="spr-password-1"
        )
    )
    counters = BaseCounters(**{f: getattr(base.counters, f) for f in RESOURCE_FIELDS})
    data = synthetic.generate(school.uai, YEAR, counters)
    parent = next(r for r in data.responsables if r.child_ids)
    student = data.person_by_id(parent.child_ids[0])
    assert student is not None
    cpe = next(p for p in data.staff if p.login.startswith("cpe."))
    passwords = {}
    for person in (student, parent, cpe):
        password = f"pw-{person.login}"
        operator.IssuePassword(
            console_pb2.IssuePasswordRequest(uai=school.uai, login=person.login, password=password)
        )
        passwords[person.login] = password
    return {
        "school": school,
        "data": data,
        "student": student,
        "parent": parent,
        "cpe": cpe,
        "passwords": passwords,
        "url": f"http://{school.address}:8080/pronote",
    }


def connections(dc: Datacenter, school_uai: str) -> list[Any]:
    return list(dc.operator().ListConnections(console_pb2.SchoolRef(uai=school_uai)).connections)


def test_each_school_serves_its_own_base(fleet: dict[str, Any]) -> None:
    dc: Datacenter = fleet["dc"]
    seen_lessons = []
    for school_uai, school in fleet["schools"].items():
        data: SchoolData = school["data"]
        student = school["student"]
        web = pronotepy.Client(
            f"{school['url']}/eleve.html", student.login, school["passwords"][student.login]
        )
        assert web.logged_in
        monday = TODAY - datetime.timedelta(days=TODAY.weekday())
        lessons = web.lessons(monday, monday + datetime.timedelta(days=6))
        expected = data.lessons(student.id, monday, monday + datetime.timedelta(days=7))
        assert sorted(lesson.id for lesson in lessons) == sorted(lesson.id for lesson in expected)
        seen_lessons.append({lesson.subject.name for lesson in lessons if lesson.subject})
        period = web.current_period
        this_period = next(p for p in data.periods if p.id == period.id)
        assert {g.id for g in period.grades} == {  # published by today in Paris
            e.id for e in visible(data, student, this_period, TODAY)
        }

        parent = school["parent"]
        family = pronotepy.ParentClient(
            f"{school['url']}/parent.html", parent.login, school["passwords"][parent.login]
        )
        assert family.children[0].name == student.display_name
        cpe = school["cpe"]
        staff = pronotepy.VieScolaireClient(
            f"{school['url']}/viescolaire.html", cpe.login, school["passwords"][cpe.login]
        )
        assert staff.logged_in

        rows = connections(dc, school_uai)
        assert rows[0].application == "PRONOTE.net 2026"
        assert rows[0].mode == common_pb2.MODE_UNSPECIFIED
        users = {r.user for r in rows[1:]}
        assert {student.display_name, parent.display_name, cpe.display_name} <= users
        licences = dc.operator().GetLicences(console_pb2.SchoolRef(uai=school_uai))
        assert licences.administratif_in_use == 0 and licences.vie_scolaire_in_use == 0
    assert all(seen_lessons)


def test_a_bad_web_password_suspends_the_ip_for_port_49300_too(fleet: dict[str, Any]) -> None:
    dc: Datacenter = fleet["dc"]
    school = next(iter(fleet["schools"].values()))
    address = school["school"].address
    student = school["student"]
    attacker = "127.130.254.9"
    relay = SourceAddressRelay(attacker, address, 8080)
    url = f"http://{relay.address}/pronote/eleve.html"
    try:
        for _ in range(5):  # PRONOTE_DC_MAXRETRY's default
            assert not pronotepy.Client(url, student.login, "wrong").logged_in
        suspended = dc.operator().ListSuspendedIps(console_pb2.SchoolRef(uai=school["school"].uai))
        assert [s.ip for s in suspended.suspended_ips] == [attacker]
        with pytest.raises(pronotepy.PronoteAPIError, match="suspended"):
            pronotepy.Client(url, student.login, school["passwords"][student.login])
        with client(address, source_ip=attacker) as pronote_client:
            error = rpc_error(pronote_client.connect, "spr", "spr-password-1")
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED
        dc.operator().UnblockIps(
            console_pb2.UnblockIpsRequest(uai=school["school"].uai, ip=attacker)
        )
        assert pronotepy.Client(url, student.login, school["passwords"][student.login]).logged_in
    finally:
        relay.close()


def test_advancing_the_clock_expires_web_sessions(fleet: dict[str, Any]) -> None:
    dc: Datacenter = fleet["dc"]
    school = list(fleet["schools"].values())[1]
    student = school["student"]
    web = pronotepy.Client(
        f"{school['url']}/eleve.html", student.login, school["passwords"][student.login]
    )
    session = web.attributes["h"]
    assert any(r.session_id == f"web-{session}" for r in connections(dc, school["school"].uai))
    now = dc.operator().GetClock(console_pb2.ClockRequest()).now_seconds
    dc.operator().AdvanceClock(console_pb2.AdvanceClockRequest(to_seconds=now + 601))
    assert not any(r.session_id == f"web-{session}" for r in connections(dc, school["school"].uai))
    assert web.session_check()  # G:10 from the server, then pronotepy logged in again
    assert web.attributes["h"] != session


def test_pronote_dc_clock_advance_makes_new_marks_appear(fleet: dict[str, Any]) -> None:
    """A client polling for new marks sees exactly those published in the days advanced."""
    dc: Datacenter = fleet["dc"]
    school = next(iter(fleet["schools"].values()))
    data: SchoolData = school["data"]
    student = school["student"]
    web = pronotepy.Client(
        f"{school['url']}/eleve.html", student.login, school["passwords"][student.login]
    )
    period = next(p for p in data.periods if p.start <= TODAY <= p.end)
    before = {g.id for g in web.current_period.grades}
    assert before == {e.id for e in visible(data, student, period, TODAY)}
    later = TODAY + datetime.timedelta(days=4)
    dc.cli("clock", "advance", f"{later.isoformat()}T17:00")  # 19:00 in Paris
    after = {g.id for g in web.current_period.grades}  # pronotepy logs in again by itself
    new = {e.id for e in visible(data, student, period, later) if e.visible_from > TODAY}
    assert new, "some of the student's marks are published in those four days"
    assert after - before == new and before <= after


def test_school_show_gives_each_espace_url(fleet: dict[str, Any]) -> None:
    dc: Datacenter = fleet["dc"]
    school = next(iter(fleet["schools"].values()))["school"]
    shown = json.loads(dc.cli("school", "show", school.uai, "--json").stdout)
    pages = {e["page"]: e["url"] for e in shown["espaces"]}
    assert pages["eleve"] == f"http://{school.address}:8080/pronote/eleve.html"
    assert pages["commune"] == f"http://{school.address}:8080/pronote/"
    assert {"eleve", "parent", "professeur", "viescolaire"} <= set(pages)
    assert uai(SCHOOLS[0]) == school.uai


def test_a_taken_pronote_net_port_fails_the_school_clearly(tmp_path: Path) -> None:
    pool = free_pool(first_octets="127.130")
    first_host = pool.split("/")[0].rsplit(".", 1)
    squatted = f"{first_host[0]}.{int(first_host[1]) + 1}"
    with running_datacenter(tmp_path, pool) as dc, socket.socket() as squatter:
        squatter.bind((squatted, 8080))
        squatter.listen()
        refused = rpc_error(dc.provision, "0756200")
        assert refused.code() == grpc.StatusCode.UNAVAILABLE
        assert f"cannot listen on {squatted}:8080 (PRONOTE.net)" in refused.details()
