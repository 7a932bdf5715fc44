"""The school's collector reads the live SchoolServer at scrape time, in a fresh registry."""

from __future__ import annotations

import math

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from common.clock import SimulatedClock
from tests.unit.test_school import START, Saves, connect, make_server
from vm_agent.adapters.metrics import school_registry
from vm_agent.adapters.slot import SchoolSlot
from vm_agent.domain.licences import LicencePolicy
from vm_agent.domain.modes import ADMINISTRATION_GROUP, Mode, UserKind

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(slot: SchoolSlot) -> Samples:
    text = generate_latest(school_registry(slot, "2026")).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if not s.name.startswith("process_")
    }


def test_before_the_state_is_loaded_only_up_zero_and_build_info() -> None:
    page = scrape(SchoolSlot())
    assert page[("pronote_school_up", ())] == 0
    assert {name for name, _ in page} == {"pronote_school_up", "pronote_build_info"}


def test_the_live_state_is_read_at_each_scrape() -> None:
    school = make_server(SimulatedClock(START), Saves())
    slot = SchoolSlot()
    slot.fill(school)
    first = scrape(slot)
    assert first[("pronote_school_up", ())] == 1
    assert first[("pronote_server_state", (("state", "stopped"),))] == 1
    assert first[("pronote_sessions", (("mode", "edt"),))] == 0
    assert first[("pronote_sessions_refused_total", (("reason", "licences_exhausted"),))] == 0

    base = school.create_base("2026-2027")
    school.put_in_service(base.id, spr_login="spr", spr_password="pw")
    school.add_user("secr", "secr-pw", "Secrétariat", UserKind.PERSONNEL, ADMINISTRATION_GROUP)
    connect(school, Mode.ADMINISTRATIF, "secr", "secr-pw")
    second = scrape(slot)
    assert second[("pronote_server_state", (("state", "serving"),))] == 1
    assert second[("pronote_sessions", (("mode", "administratif"),))] == 1
    assert second[("pronote_licences_in_use", (("licence", "modification"),))] == 1
    assert second[("pronote_licences_capacity", (("licence", "modification"),))] == 2
    assert second[("pronote_bases", ())] == 1
    assert not any(name.endswith("_created") for name, _ in second)


def test_the_unlimited_formula_has_an_infinite_teacher_capacity() -> None:
    policy = LicencePolicy(4, teacher_capacity=None)
    slot = SchoolSlot()
    slot.fill(make_server(SimulatedClock(START), Saves(), licence_policy=policy))
    capacity = scrape(slot)[("pronote_licences_capacity", (("licence", "enseignant"),))]
    assert math.isinf(capacity)
