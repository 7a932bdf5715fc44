"""A base holding a synthetic school: counters, issued passwords, a small saved state."""

from __future__ import annotations

import json

import pytest

from common.clock import SimulatedClock
from tests.unit.test_school import START, Saves, make_server
from tests.unit.test_synthetic import EXAMPLE, YEAR
from vm_agent.domain import synthetic
from vm_agent.domain.errors import (
    AlreadyExists,
    BadCredentials,
    InvalidArgument,
    NotFound,
    WrongState,
)
from vm_agent.domain.licences import LicencePolicy
from vm_agent.domain.modes import UserKind
from vm_agent.domain.school import SchoolServer

UAI = "0750655E"


@pytest.fixture
def saves() -> Saves:
    return Saves()


@pytest.fixture
def server(saves: Saves) -> SchoolServer:
    unlimited = LicencePolicy(4, teacher_capacity=None)
    server = make_server(SimulatedClock(START), saves, licence_policy=unlimited)
    base = server.create_base(YEAR, seed=UAI, resources=EXAMPLE)
    server.put_in_service(base.id, spr_login="spr", spr_password="spr-password")
    return server


def test_the_base_counts_its_synthetic_school(server: SchoolServer) -> None:
    base = server.bases[0]
    assert base.seed == UAI
    assert base.counters == synthetic.counters_of(base.data)
    assert base.counters.professeurs == 35 and base.counters.eleves == 422
    assert base.counters.notes > 0


def test_the_saved_state_holds_the_seed_not_the_data(server: SchoolServer, saves: Saves) -> None:
    state = json.dumps(saves.last)
    assert len(state) < 4000
    restarted = make_server(SimulatedClock(START), Saves(), saved_state=saves.last)
    assert restarted.bases[0].seed == UAI
    assert restarted.bases[0].data.students == server.bases[0].data.students


def test_a_state_saved_before_synthetic_schools_still_loads(saves: Saves) -> None:
    server = make_server(SimulatedClock(START), saves)
    server.create_base(YEAR)
    state = json.loads(json.dumps(saves.last))
    del state["bases"][0]["seed"]
    loaded = make_server(SimulatedClock(START), Saves(), saved_state=state)
    assert loaded.bases[0].seed == "" and loaded.bases[0].data.students == ()


def test_issued_passwords_let_people_authenticate(server: SchoolServer) -> None:
    data = server.bases[0].data
    student, parent, teacher = data.students[0], data.responsables[0], data.teachers[0]
    cpe = data.staff[0]
    for person in (student, parent, teacher, cpe):
        server.issue_password(person.login, f"pw-{person.id}")
    base = server.bases[0]
    assert base.authenticate(student.login, f"pw-{student.id}").kind is UserKind.ELEVE
    assert base.authenticate(parent.login, f"pw-{parent.id}").kind is UserKind.RESPONSABLE
    assert base.authenticate(teacher.login, f"pw-{teacher.id}").kind is UserKind.PROFESSEUR
    staff = base.authenticate(cpe.login, f"pw-{cpe.id}")
    assert (staff.kind, staff.group) == (UserKind.PERSONNEL, "Vie scolaire")
    with pytest.raises(BadCredentials):
        base.authenticate(student.login, "wrong")
    server.issue_password(student.login, "new-one")  # a new password replaces the old
    with pytest.raises(BadCredentials):
        base.authenticate(student.login, f"pw-{student.id}")
    assert base.counters.professeurs == 35  # issuing does not add teachers


def test_an_unknown_login_is_refused_and_nothing_changes(
    server: SchoolServer, saves: Saves
) -> None:
    known = server.bases[0].data.students[0].login
    before = len(saves.states)
    with pytest.raises(NotFound, match=r"nobody has the login 'eleve\.personne\.x'"):
        server.issue_passwords([(known, "pw"), ("eleve.personne.x", "pw")])
    assert known not in server.bases[0].users
    assert len(saves.states) == before
    with pytest.raises(InvalidArgument):
        server.issue_password(known, "")
    with pytest.raises(NotFound):
        server.issue_password("spr", "pw")  # an account, not a person of the school
    teacher = server.bases[0].data.teachers[0].login
    server.add_user(teacher, "pw", "Added by hand", UserKind.PROFESSEUR)
    with pytest.raises(AlreadyExists):
        server.issue_password(teacher, "pw")


def test_an_empty_base_has_nobody_to_issue_passwords_to(saves: Saves) -> None:
    server = make_server(SimulatedClock(START), saves)
    with pytest.raises(WrongState):
        server.issue_password("eleve.dupont.l", "pw")
    base = server.create_base(YEAR)
    server.put_in_service(base.id, spr_login="spr", spr_password="spr-password")
    with pytest.raises(NotFound, match="no synthetic school"):
        server.issue_password("eleve.dupont.l", "pw")


def test_typical_counters_stay_within_the_formula(saves: Saves) -> None:
    server = make_server(SimulatedClock(START), saves, licence_policy=LicencePolicy(4, 30))
    base = server.create_base(YEAR, seed="0690001X")
    assert 1 <= base.counters.professeurs <= 30
    assert len(base.data.teachers) == base.counters.professeurs
    with pytest.raises(InvalidArgument, match="exceed this formula's 30 teachers"):
        server.create_base("2027-2028", seed=UAI, resources=EXAMPLE)
    assert [b.school_year for b in server.bases] == [YEAR]


def test_added_teachers_count_without_changing_the_school(server: SchoolServer) -> None:
    students = server.bases[0].data.students
    server.add_user("prof.extra", "pw", "EXTRA Prof", UserKind.PROFESSEUR)
    base = server.bases[0]
    assert base.counters.professeurs == 36
    assert base.data.students == students
