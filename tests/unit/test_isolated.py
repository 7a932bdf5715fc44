"""Work done in a helper process: its result and its refusals come back, its memory does not."""

from __future__ import annotations

import json
import os
import socket
import threading
from pathlib import Path
from typing import Any

import pytest

from common.clock import SimulatedClock
from tests.unit.test_school import START, Saves, make_server
from tests.unit.test_synthetic import EXAMPLE, YEAR
from vm_agent import isolated, zygote
from vm_agent.domain import synthetic
from vm_agent.domain.counters import BaseCounters
from vm_agent.domain.errors import InvalidArgument
from vm_agent.domain.licences import LicencePolicy
from vm_agent.domain.modes import UserKind
from vm_agent.domain.school import SchoolIdentity, SchoolServer
from vm_agent.domain.school_data import PersonKind
from vm_agent.domain.security import SecurityPolicy
from vm_agent.isolated import run_isolated
from vm_agent.store import StateStore


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


def test_a_demo_base_is_counted_at_its_first_listing_only() -> None:
    """count_later: the creation asks for the first people only; the counters come once,
    equal to the creation's, saved, and survive a restart (DESIGN decision 30)."""
    calls: list[str] = []

    def counting(function: Any, *args: Any) -> Any:
        calls.append(function.__name__)
        return function(*args)

    saves = Saves()
    server = make_server(SimulatedClock(START), saves, licence_policy=LicencePolicy(4, None))
    server._isolate = counting
    base = server.create_base(YEAR, seed="0750655E", resources=EXAMPLE, count_later=True)
    assert calls == ["first_people"]
    assert (base.counted, base.counters) == (False, EXAMPLE)  # the Ressources, exact already
    server.put_in_service(base.id, spr_login="spr", spr_password="spr-password")
    server.add_user("prof.ajout", "pw", "Prof ajouté", UserKind.PROFESSEUR)  # not the school's
    first = server.people([PersonKind.PROFESSEUR], 1)
    server.issue_password(first.people[0].login, "pw")
    assert calls == ["first_people"]
    restarted = make_server(SimulatedClock(START), saves, saves.last, LicencePolicy(4, None))
    restarted._isolate = counting
    assert not restarted.bases[0].counted  # still to count after a restart
    restarted.count_pending()
    expected = synthetic.count("0750655E", YEAR, EXAMPLE)
    expected.professeurs += 1  # the added teacher counts, as at an ordinary creation
    assert restarted.bases[0].counters == expected
    assert calls == ["first_people", "count"]
    restarted.count_pending()
    assert calls == ["first_people", "count"]  # counted once
    assert saves.last["bases"][0]["counted"] is True


def test_states_saved_before_count_later_read_as_counted() -> None:
    saves = Saves()
    server = make_server(SimulatedClock(START), saves, licence_policy=LicencePolicy(4, None))
    server.create_base(YEAR)
    old = json.loads(json.dumps(saves.last))
    del old["bases"][0]["counted"]
    assert make_server(SimulatedClock(START), Saves(), old).bases[0].counted


# Set in this process only: a fork of it sees it, a fresh interpreter importing this module not.
_IN_THIS_PROCESS: list[bool] = []


def _forked_from_this_process() -> bool:
    return bool(_IN_THIS_PROCESS)


def test_a_helper_made_by_the_warm_parent_is_a_fork_of_it() -> None:
    """The school's side (`run_isolated`) and the warm parent's (`zygote._fork_helper`) over
    a real socket pair: the helper is a fork of the warm parent (it sees this process's
    state), its refusal comes back, and a closed school end is noticed."""
    _IN_THIS_PROCESS.append(True)
    ours, its = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    served: list[bool] = []
    warm_parent = threading.Thread(
        target=lambda: served.extend(zygote._fork_helper(ours) for _ in range(3))
    )
    warm_parent.start()
    before = dict(isolated.helpers_started)
    isolated.use_warm_parent(its.detach())
    try:
        assert run_isolated(_forked_from_this_process)
        with pytest.raises(InvalidArgument, match="cannot be negative"):
            run_isolated(synthetic.count, "seed", YEAR, BaseCounters(eleves=-1))
        assert isolated.helpers_started["warm_parent"] == before["warm_parent"] + 2
        assert isolated.helpers_started["fresh_interpreter"] == before["fresh_interpreter"]
    finally:
        assert isolated._warm_parent is not None
        isolated._warm_parent.close()
        isolated._warm_parent = None
    warm_parent.join(timeout=30)
    assert served == [True, True, False]  # the third: the school's end closed
    ours.close()


def test_without_its_warm_parent_a_school_starts_fresh_interpreters() -> None:
    ours, its = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    ours.close()  # the warm parent went away (a controller restart)
    isolated.use_warm_parent(its.detach())
    before = dict(isolated.helpers_started)
    _IN_THIS_PROCESS.append(True)
    assert not run_isolated(_forked_from_this_process)
    assert isolated._warm_parent is None  # not asked again
    assert isolated.helpers_started["fresh_interpreter"] == before["fresh_interpreter"] + 1


def test_a_demo_school_is_populated_in_one_step_saved_once() -> None:
    calls: list[str] = []

    def counting(function: Any, *args: Any) -> Any:
        calls.append(function.__name__)
        return function(*args)

    saves = Saves()
    server = make_server(SimulatedClock(START), saves, licence_policy=LicencePolicy(4, None))
    server._isolate = counting
    kinds = [PersonKind.PROFESSEUR, PersonKind.VIE_SCOLAIRE, PersonKind.RESPONSABLE]
    base, logins = server.populate_demo(
        YEAR,
        "0750655E",
        ("spr", "drawn-spr"),
        [("admin.durand", "drawn-admin", "DURAND Claire", UserKind.PERSONNEL, "Administration")],
        {kind: f"pw-{kind.value}" for kind in kinds},
        child_password="pw-child",
    )
    # One helper (it finds the first people itself), one save
    assert calls == ["_populate_demo_elsewhere"] and len(saves.states) == 1
    assert saves.last == server.snapshot()  # what was saved there is what this server holds
    assert not base.counted and server.base_in_service is base
    data = synthetic.roster("0750655E", YEAR, base.synthetic_resources)
    first = server.people(kinds, 1)
    assert logins == {
        **{p.kind.value: p.login for p in first.people},
        "eleve": first.child_logins[first.people[-1].child_ids[0]],  # type: ignore[attr-defined]
    }
    for kind in kinds:
        assert base.users[logins[kind.value]].check_password(f"pw-{kind.value}")
    assert data.person(logins["eleve"]) in data.students
    assert base.users[logins["eleve"]].check_password("pw-child")
    assert base.users["admin.durand"].check_password("drawn-admin")
    assert saves.last["bases"][0]["users"]["spr"]["password_hash"].startswith("sha256$")


def test_a_demo_population_in_a_helper_process_is_saved_there_and_taken_here(
    tmp_path: Path,
) -> None:
    store = StateStore(tmp_path)
    server = SchoolServer(
        identity=SchoolIdentity("0750655E", "Lycée Test"),
        licence_policy=LicencePolicy(4, None),
        security_policy=SecurityPolicy(5, 600, 600),
        idle_timeout_seconds=600,
        clock=SimulatedClock(START),
        save=store.save,
        isolate=run_isolated,  # no warm parent here: a fresh interpreter
    )
    with pytest.raises(InvalidArgument, match="eleves = -1 is out of range"):
        server.populate_demo(YEAR, "x", ("spr", "pw"), [], {}, "", BaseCounters(eleves=-1))
    assert store.load() is None and not server.bases  # refused there: nothing saved or taken
    synthetic._generate.cache_clear()
    kinds = [PersonKind.PROFESSEUR, PersonKind.RESPONSABLE]
    base, logins = server.populate_demo(
        YEAR, "0750655E", ("spr", "drawn-spr"), [], {kind: "pw" for kind in kinds}, "pw-child"
    )
    assert synthetic._generate.cache_info().currsize == 0  # nothing generated here
    assert store.load() == server.snapshot()  # the helper saved what this server now holds
    assert server.base_in_service is base and base.users[logins["professeur"]].check_password("pw")
    assert base.users[logins["eleve"]].check_password("pw-child")
