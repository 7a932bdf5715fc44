"""PRONOTE.net's rules on a school server: who may open which espace, web sessions on the
clock, refusals, the connection rows, and no licence taken."""

from __future__ import annotations

import dataclasses

import pytest

from common.clock import SimulatedClock
from vm_agent.domain.errors import Forbidden, NotFound
from vm_agent.domain.licences import LicencePolicy
from vm_agent.domain.modes import UserKind
from vm_agent.domain.pronote_net import PageUnavailable, PronoteNet
from vm_agent.domain.publication import Espace
from vm_agent.domain.school import SchoolIdentity, SchoolServer
from vm_agent.domain.security import SecurityPolicy

IP = "127.130.0.9"


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(1_790_000_000.0)


@pytest.fixture
def school(clock: SimulatedClock) -> SchoolServer:
    server = SchoolServer(
        SchoolIdentity("0750655E", "Lycée"),
        LicencePolicy(4, 30),
        SecurityPolicy(2, 600.0, 600.0),
        idle_timeout_seconds=600.0,
        clock=clock,
        save=lambda state: None,
    )
    base = server.create_base("2026-2027")
    server.put_in_service(base.id, "spr", "spr-password-1")
    server.add_user("prof.a", "pw-prof", "PROF A", UserKind.PROFESSEUR)
    server.add_user("cpe.a", "pw-cpe", "CPE A", UserKind.PERSONNEL, "Vie scolaire")
    return server


def test_each_espace_admits_its_own_kind_of_user(
    school: SchoolServer, clock: SimulatedClock
) -> None:
    web = PronoteNet(school, clock)
    assert web.account(Espace.PROFESSEUR, "prof.a") is not None
    assert web.account(Espace.ELEVE, "prof.a") is None
    assert web.account(Espace.VIE_SCOLAIRE, "cpe.a") is not None
    assert web.account(Espace.PROFESSEUR, "nobody") is None
    assert web.account(Espace.VIE_SCOLAIRE, "spr") is None  # a chosen password: scrypt only


def test_web_sessions_expire_on_the_clock(school: SchoolServer, clock: SimulatedClock) -> None:
    web = PronoteNet(school, clock)
    page = web.open_page(Espace.PROFESSEUR, IP)
    clock.advance(599)
    assert web.session(page.number, IP)[0] is page  # a call keeps it alive
    clock.advance(599)
    web.session(page.number, IP)
    clock.advance(600)
    with pytest.raises(NotFound, match="expired"):
        web.session(page.number, IP)


def test_logged_in_users_show_under_one_pronote_net_row_a_teacher_with_a_licence(
    school: SchoolServer, clock: SimulatedClock
) -> None:
    web = PronoteNet(school, clock)
    before = school.licences()
    page = web.open_page(Espace.PROFESSEUR, IP)
    web.open_page(Espace.PROFESSEUR, IP)  # a page nobody logged in to is not a connection
    account = web.account(Espace.PROFESSEUR, "prof.a")
    assert account is not None
    web.logged_in(page, account.user)
    rows = web.connections()
    assert [r.application for r in rows] == [
        "PRONOTE.net 2026",
        "PRONOTE.net 2026 - Espace Professeurs",
    ]
    assert rows[1].user == "PROF A" and rows[1].source_ip == IP and rows[1].id == page.id
    # A teacher on the Espace Professeurs holds a teacher licence (issue 14), no session.
    assert school.licences() == dataclasses.replace(before, enseignant_in_use=1)
    assert school.connections() == []
    school.disconnect(page.id)  # the console's Disconnect works on web sessions too
    assert school.licences() == before
    with pytest.raises(NotFound):
        web.session(page.number, IP)


def test_failed_web_logins_suspend_the_ip_like_port_49300(
    school: SchoolServer, clock: SimulatedClock
) -> None:
    web = PronoteNet(school, clock)
    page = web.open_page(Espace.PROFESSEUR, IP)
    web.login_failed(page)
    web.login_failed(page)  # maxretry=2
    with pytest.raises(Forbidden, match="IP"):
        web.open_page(Espace.PROFESSEUR, IP)
    with pytest.raises(Forbidden):
        web.session(page.number, IP)
    assert school.authentication_failures == 2
    web.open_page(Espace.PROFESSEUR, "127.130.0.10")  # other addresses are fine


def test_unpublished_or_stopped_espaces_are_unavailable(
    school: SchoolServer, clock: SimulatedClock
) -> None:
    web = PronoteNet(school, clock)
    school.publication.stop()
    with pytest.raises(PageUnavailable, match="publication"):
        web.open_page(Espace.ELEVE, IP)
    assert web.connections() == []
    school.publication.set_espace(Espace.ELEVE, False)
    school.publication.start()
    with pytest.raises(PageUnavailable, match="eleve"):
        web.open_page(Espace.ELEVE, IP)
    web.open_page(Espace.PARENT, IP)
    school.stop()
    with pytest.raises(PageUnavailable, match="arrêté"):
        web.open_page(Espace.PARENT, IP)
    assert len(school.web_sessions) == 0  # stopping the server closes the web sessions


def test_logged_in_web_users_are_a_metric_by_espace(
    school: SchoolServer, clock: SimulatedClock
) -> None:
    from tests.unit.test_agent_metrics import scrape
    from vm_agent.adapters.slot import SchoolSlot

    web = PronoteNet(school, clock)
    page = web.open_page(Espace.PROFESSEUR, IP)
    account = web.account(Espace.PROFESSEUR, "prof.a")
    assert account is not None
    web.logged_in(page, account.user)
    web.open_page(Espace.ELEVE, IP)  # not logged in: not counted
    slot = SchoolSlot()
    slot.fill(school)
    samples = scrape(slot)
    assert samples[("pronote_net_sessions", (("espace", "professeur"),))] == 1
    assert samples[("pronote_net_sessions", (("espace", "eleve"),))] == 0
    assert samples[("pronote_sessions", (("mode", "enseignant"),))] == 0
