"""Work done in a helper process: its result and its refusals come back, its memory does not."""

from __future__ import annotations

import os
from typing import Any

import pytest

from common.clock import SimulatedClock
from tests.unit.test_school import START, Saves, make_server
from tests.unit.test_synthetic import EXAMPLE, YEAR
from vm_agent.domain import synthetic
from vm_agent.domain.counters import BaseCounters
from vm_agent.domain.errors import InvalidArgument
from vm_agent.domain.licences import LicencePolicy
from vm_agent.domain.school_data import PersonKind
from vm_agent.isolated import run_isolated


def test_the_result_comes_back_from_another_process() -> None:
    assert run_isolated(os.getpid) != os.getpid()
    assert run_isolated(divmod, 7, 2) == (3, 1)


def test_a_refusal_is_raised_in_the_caller() -> None:
    with pytest.raises(InvalidArgument, match="resource counters cannot be negative"):
        run_isolated(synthetic.count, "seed", YEAR, BaseCounters(eleves=-1))


def test_a_school_server_counts_a_new_school_elsewhere() -> None:
    server = make_server(SimulatedClock(START), Saves(), licence_policy=LicencePolicy(4, None))
    server._isolate = run_isolated  # as vm_agent.server wires it
    synthetic._generate.cache_clear()
    base = server.create_base(YEAR, seed="0750655E", resources=EXAMPLE)
    assert base.counters == synthetic.count("0750655E", YEAR, EXAMPLE)
    assert synthetic._generate.cache_info().currsize == 0  # nothing generated here


def test_a_new_base_answers_its_first_questions_without_generating_again() -> None:
    calls: list[str] = []

    def counting(function: Any, *args: Any) -> Any:
        calls.append(function.__name__)
        return function(*args)

    server = make_server(SimulatedClock(START), Saves(), licence_policy=LicencePolicy(4, None))
    server._isolate = counting
    base = server.create_base(YEAR, seed="0750655E", resources=EXAMPLE)
    server.put_in_service(base.id, spr_login="spr", spr_password="spr-password")
    kinds = [PersonKind.PROFESSEUR, PersonKind.VIE_SCOLAIRE, PersonKind.RESPONSABLE]
    first = server.people(kinds, 1)
    parent = first.people[-1]
    child = first.child_logins[parent.child_ids[0]]  # type: ignore[attr-defined]
    server.issue_passwords([(p.login, "pw") for p in first.people] + [(child, "pw")])
    assert calls == ["survey"]  # the demo's questions, answered from the creation
    data = synthetic.roster("0750655E", YEAR, EXAMPLE)
    most_children = max(data.responsables, key=lambda r: len(r.child_ids))  # the sample parent
    assert first.people == [data.teachers[0], data.staff[0], most_children]
    assert len(most_children.child_ids) > 1
    assert first.totals[PersonKind.RESPONSABLE] == len(data.responsables)
    server.people([PersonKind.ELEVE], 10)
    server.issue_password(data.students[-1].login, "pw")
    assert calls == ["survey", "first_people", "find_people"]
