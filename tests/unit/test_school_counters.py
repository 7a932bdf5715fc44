"""What the school counts for monitoring: failed logins, suspensions, refusals by reason."""

from __future__ import annotations

import pytest

from common.clock import SimulatedClock
from tests.unit.test_school import START, Saves, connect, make_server
from vm_agent.domain.errors import BadCredentials, Forbidden, LicencesExhausted, WrongState
from vm_agent.domain.modes import ADMINISTRATION_GROUP, Mode, UserKind
from vm_agent.domain.school import REFUSAL_REASONS, SchoolServer


@pytest.fixture
def server() -> SchoolServer:
    return make_server(SimulatedClock(START), Saves())


def serve(server: SchoolServer) -> SchoolServer:
    base = server.create_base("2026-2027")
    server.put_in_service(base.id, spr_login="spr", spr_password="spr-password")
    server.add_user("secr", "secr-pw", "Secrétariat", UserKind.PERSONNEL, ADMINISTRATION_GROUP)
    server.add_user("prof.a", "a-pw", "Prof A", UserKind.PROFESSEUR)
    server.add_user("prof.b", "b-pw", "Prof B", UserKind.PROFESSEUR)
    return server


def test_counters_start_at_zero_for_every_reason(server: SchoolServer) -> None:
    assert server.authentication_failures == 0
    assert server.ip_suspensions == 0
    assert server.refusals == dict.fromkeys(REFUSAL_REASONS, 0)


def test_a_stopped_server_counts_its_refusals(server: SchoolServer) -> None:
    with pytest.raises(WrongState):
        connect(server, Mode.ADMINISTRATIF, "secr", "secr-pw")
    assert server.refusals["server_stopped"] == 1


def test_failed_logins_then_the_suspension_are_counted(server: SchoolServer) -> None:
    serve(server)
    for _ in range(3):  # maxretry of the test policy
        with pytest.raises(BadCredentials):
            connect(server, Mode.ADMINISTRATIF, "secr", "wrong")
    with pytest.raises(Forbidden, match="suspended"):
        connect(server, Mode.ADMINISTRATIF, "secr", "secr-pw")
    assert server.authentication_failures == 3
    assert server.ip_suspensions == 1
    assert server.refusals["bad_credentials"] == 3
    assert server.refusals["suspended_ip"] == 1


def test_wrong_mode_and_exhausted_licences_are_refusals(server: SchoolServer) -> None:
    serve(server)
    with pytest.raises(Forbidden, match="cannot connect in mode"):
        connect(server, Mode.ADMINISTRATIF, "prof.a", "a-pw")
    connect(server, Mode.ENSEIGNANT, "prof.a", "a-pw")
    with pytest.raises(LicencesExhausted):  # the test formula allows one teacher
        connect(server, Mode.ENSEIGNANT, "prof.b", "b-pw")
    assert server.refusals["mode_not_allowed"] == 1
    assert server.refusals["licences_exhausted"] == 1
    assert server.authentication_failures == 0
