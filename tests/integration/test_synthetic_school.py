"""Demo schools hold a synthetic school: real counters, sample accounts per espace, passwords
issued to its people; all through `pronote-dc up --demo`, the console and the school's ports."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from protos import common_pb2, console_pb2
from tests.integration.harness import (
    Datacenter,
    account,
    client,
    free_pool,
    rpc_error,
    running_datacenter,
)
from tests.integration.metrics_helpers import samples, value
from vm_agent.domain import synthetic
from vm_agent.domain.counters import BaseCounters

FORMULA_30_TEACHERS = 30


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Datacenter]:
    tmp_path: Path = tmp_path_factory.mktemp("synthetic")
    with running_datacenter(tmp_path, free_pool(first_octets="127.120"), "--demo", "1") as dc:
        yield dc


def cli_json(dc: Datacenter, *args: str) -> Any:
    return json.loads(dc.cli(*args, "--json").stdout)


def demo_school(dc: Datacenter) -> Any:
    (school,) = cli_json(dc, "school", "list")
    return dc.operator().GetSchool(console_pb2.SchoolRef(uai=school["uai"]))


def test_a_demo_school_is_made_cheaply_and_counted_when_first_listed(demo: Datacenter) -> None:
    """DESIGN decisions 30 and 38: populated by a fork of the warm parent before it started
    (no fresh interpreter), its counters wait for the first listing, its drawn SPR password
    is not scrypt. This test runs first in the module: nothing has listed the bases yet."""
    school = demo_school(demo)
    state_file = demo.state_dir / "schools" / school.uai / "data" / "state.json"
    (saved,) = json.loads(state_file.read_text())["bases"]
    assert not saved["counted"] and saved["counters"]["notes"] == 0
    spr = next(u for u in saved["users"].values() if u["is_spr"])
    assert spr["password_hash"].startswith("sha256$")
    metrics = f"http://{school.address}:49380/metrics"
    helpers = "pronote_school_helpers_started_total"
    # Populated before it started (DESIGN decision 38): a helper of the warm parent drew its
    # first people and saved its base; the school, started once, loaded it and asked for no
    # helper of its own.
    log = (demo.state_dir / "schools" / school.uai / "agent.log").read_text()
    assert log.count(f"school {school.uai} serving on") == 1
    page = samples(metrics)
    assert value(page, helpers, made_by="warm_parent") == 0
    assert value(page, helpers, made_by="fresh_interpreter") == 0
    (base,) = cli_json(demo, "console", "bases", "--uai", school.uai)["bases"]
    assert base["counters"]["notes"] > 1000 and not base.get("counters_pending", False)
    (saved,) = json.loads(state_file.read_text())["bases"]
    assert saved["counted"] and saved["counters"] == base["counters"]
    page = samples(metrics)
    assert value(page, helpers, made_by="warm_parent") == 1  # the count
    assert value(page, helpers, made_by="fresh_interpreter") == 0
    cpu = "pronote_school_helpers_cpu_seconds_total"
    assert 0 < value(page, cpu, made_by="warm_parent") < 2  # a fork, not a fresh interpreter


def test_console_bases_shows_the_counters_of_the_synthetic_school(demo: Datacenter) -> None:
    school = demo_school(demo)
    (base,) = cli_json(demo, "console", "bases", "--uai", school.uai)["bases"]
    assert base["synthetic_seed"] == school.uai and base["in_service"]
    assert school.formula == console_pb2.FORMULA_30  # the first demo school
    typical = synthetic.typical_counters(school.uai, FORMULA_30_TEACHERS)
    data = synthetic.generate(school.uai, base["school_year"], typical)
    assert base["counters"] == {
        name: value for name, value in vars(synthetic.counters_of(data)).items()
    }
    assert 0 < base["counters"]["professeurs"] <= FORMULA_30_TEACHERS
    assert base["counters"]["eleves"] > 100 and base["counters"]["notes"] > 1000
    state = demo.state_dir / "schools" / school.uai / "data" / "state.json"
    assert state.stat().st_size < 10_000  # the data is regenerated, not stored


def test_sample_accounts_cover_each_espace_and_log_in(demo: Datacenter) -> None:
    school = demo_school(demo)
    shown = cli_json(demo, "school", "show", school.uai)
    espaces = {a["role"]: a["espaces"] for a in shown["sample_accounts"]}
    assert espaces == {
        "spr": ["client"],
        "administratif": ["client"],
        "enseignant": ["client", "professeur"],
        "vie_scolaire": ["client", "viescolaire"],
        "parent": ["parent"],
        "eleve": ["eleve"],
    }
    data = _data(demo, school)
    eleve, parent = account(school, "eleve"), account(school, "parent")
    child = data.person(eleve.login)
    responsable = data.person(parent.login)
    assert child is not None and responsable is not None
    assert child.id in responsable.child_ids  # type: ignore[attr-defined]
    teacher, cpe = account(school, "enseignant"), account(school, "vie_scolaire")
    assert data.person(teacher.login) in data.teachers
    assert data.person(cpe.login) in data.staff
    with client(school.address) as c:
        assert c.connect(teacher.login, teacher.password, common_pb2.MODE_ENSEIGNANT).session_id
        assert c.connect(cpe.login, cpe.password, common_pb2.MODE_VIE_SCOLAIRE).session_id
        wrong = rpc_error(c.connect, teacher.login, "not-it", common_pb2.MODE_ENSEIGNANT)
        assert wrong.code() == grpc.StatusCode.UNAUTHENTICATED
        # A student's password is right (PRONOTE.net only): refused for the mode, not the
        # password.
        refused = rpc_error(c.connect, eleve.login, eleve.password, common_pb2.MODE_ENSEIGNANT)
        assert refused.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "eleve" in refused.details()


def test_issued_passwords_authenticate_and_unknown_logins_change_nothing(
    demo: Datacenter,
) -> None:
    school = demo_school(demo)
    student = _data(demo, school).students[-1]
    issued = demo.cli(
        "console", "issue-password", student.login, "--password", "s3cret-pw",
        "--uai", school.uai, "--json",
    )  # fmt: skip
    assert json.loads(issued.stdout)["kind"] == "USER_KIND_ELEVE"
    with client(school.address) as c:
        assert (
            rpc_error(c.connect, student.login, "s3cret-pw", common_pb2.MODE_ENSEIGNANT).code()
            == grpc.StatusCode.PERMISSION_DENIED
        )
    state = demo.state_dir / "schools" / school.uai / "data" / "state.json"
    before = state.read_bytes()
    error = rpc_error(
        demo.operator().IssuePassword,
        console_pb2.IssuePasswordRequest(uai=school.uai, login="eleve.nobody.x", password="pw"),
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert "nobody has the login 'eleve.nobody.x'" in error.details()
    assert state.read_bytes() == before


def test_ensure_sample_accounts_issues_passwords_to_students_and_parents(
    demo: Datacenter,
) -> None:
    school = demo_school(demo)
    operator = demo.operator()
    ensure = console_pb2.EnsureSampleAccountsRequest
    grown = operator.EnsureSampleAccounts(ensure(uai=school.uai, role="eleve", count=25))
    students = [a for a in grown.sample_accounts if a.role == "eleve"]
    assert len(students) == 25 and len({a.login for a in students}) == 25
    again = operator.EnsureSampleAccounts(ensure(uai=school.uai, role="eleve", count=3))
    assert list(again.sample_accounts) == list(grown.sample_accounts)
    parents = operator.EnsureSampleAccounts(ensure(uai=school.uai, role="parent", count=4))
    assert sum(1 for a in parents.sample_accounts if a.role == "parent") == 4
    with client(school.address) as c:  # every one of them has its password on the server
        for sample in students[-3:]:
            error = rpc_error(c.connect, sample.login, sample.password, common_pb2.MODE_EDT)
            assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    total = len(_data(demo, school).students)
    error = rpc_error(
        operator.EnsureSampleAccounts, ensure(uai=school.uai, role="eleve", count=total + 1)
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"at most {total} eleve accounts" in error.details()


def _data(dc: Datacenter, school: Any) -> synthetic.SchoolData:
    (base,) = cli_json(dc, "console", "bases", "--uai", school.uai)["bases"]
    counters = BaseCounters(**base["counters"])
    return synthetic.generate(school.uai, base["school_year"], counters)
