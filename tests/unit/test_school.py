"""The Serveur PRONOTE of one school, on a simulated clock, saving through a callback."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest

from common.clock import SimulatedClock
from vm_agent.domain.bases import ServerState
from vm_agent.domain.errors import (
    AlreadyExists,
    BadCredentials,
    Forbidden,
    InvalidArgument,
    LicencesExhausted,
    NotFound,
    WrongState,
)
from vm_agent.domain.licences import LicencePolicy
from vm_agent.domain.modes import ADMINISTRATION_GROUP, Mode, UserKind
from vm_agent.domain.school import SchoolIdentity, SchoolServer
from vm_agent.domain.security import SecurityPolicy

START = datetime.datetime(2026, 9, 1, 8, 0, tzinfo=datetime.UTC).timestamp()
IDLE_SECONDS = 600.0
SECURITY = SecurityPolicy(maxretry=3, findtime_seconds=60.0, bantime_seconds=300.0)
IP = "10.0.0.7"


class Saves:
    """The `save` callback: keeps every saved state, as JSON would store it."""

    def __init__(self) -> None:
        self.states: list[dict[str, Any]] = []

    def __call__(self, state: dict[str, Any]) -> None:
        self.states.append(json.loads(json.dumps(state)))

    @property
    def last(self) -> dict[str, Any]:
        return self.states[-1]


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(START)


@pytest.fixture
def saves() -> Saves:
    return Saves()


def make_server(
    clock: SimulatedClock,
    saves: Saves,
    saved_state: dict[str, Any] | None = None,
    licence_policy: LicencePolicy | None = None,
) -> SchoolServer:
    return SchoolServer(
        identity=SchoolIdentity(uai="0750655E", name="Collège Test"),
        licence_policy=licence_policy or LicencePolicy(2, enseignant_capacity=1),
        security_policy=SECURITY,
        idle_timeout_seconds=IDLE_SECONDS,
        clock=clock,
        save=saves,
        saved_state=saved_state,
    )


@pytest.fixture
def server(clock: SimulatedClock, saves: Saves) -> SchoolServer:
    return make_server(clock, saves)


@pytest.fixture
def serving(server: SchoolServer) -> SchoolServer:
    """A base in service with an SPR, a secretary (Administration), a CPE and two teachers."""
    base = server.create_base("2026-2027")
    server.put_in_service(base.id, spr_login="spr", spr_password="spr-password")
    server.add_user("secr", "secr-pw", "Secrétariat", UserKind.PERSONNEL, ADMINISTRATION_GROUP)
    server.add_user("cpe", "cpe-pw", "CPE", UserKind.PERSONNEL, "Vie scolaire")
    server.add_user("prof.a", "a-pw", "Prof A", UserKind.PROFESSEUR)
    server.add_user("prof.b", "b-pw", "Prof B", UserKind.PROFESSEUR)
    return server


def connect(server: SchoolServer, mode: Mode, login: str, password: str, ip: str = IP) -> Any:
    return server.connect(mode, login, password, ip, poste="", application="")


# -- bases and server state ----------------------------------------------------------------


def test_a_new_server_is_stopped_with_no_base(server: SchoolServer) -> None:
    assert server.server_state is ServerState.STOPPED
    assert server.bases == []
    assert server.base_in_service is None


def test_create_base_is_dated_and_saved(
    server: SchoolServer, saves: Saves, clock: SimulatedClock
) -> None:
    base = server.create_base("2026-2027")
    assert base.name == "Base année 2026-2027.not"
    assert base.created_at_seconds == clock.now()
    assert [b["id"] for b in saves.last["bases"]] == [base.id]


def test_create_base_needs_the_server_stopped(serving: SchoolServer) -> None:
    with pytest.raises(WrongState, match="stop the server"):
        serving.create_base("2027-2028")


def test_create_base_refuses_a_duplicate_school_year(server: SchoolServer) -> None:
    server.create_base("2026-2027")
    with pytest.raises(AlreadyExists):
        server.create_base("2026-2027")
    assert len(server.bases) == 1


@pytest.mark.parametrize("year", ["2026-2028", "2026-2025", "2026", "26-27", "2026/2027"])
def test_create_base_refuses_a_bad_school_year(server: SchoolServer, year: str) -> None:
    with pytest.raises(InvalidArgument, match="two consecutive years"):
        server.create_base(year)
    assert server.bases == []


def test_first_mise_en_service_needs_spr_login_and_password(server: SchoolServer) -> None:
    base = server.create_base("2026-2027")
    with pytest.raises(InvalidArgument, match="SPR"):
        server.put_in_service(base.id)
    with pytest.raises(InvalidArgument, match="SPR"):
        server.put_in_service(base.id, spr_login="spr")
    assert server.server_state is ServerState.STOPPED


def test_first_mise_en_service_defines_the_spr(server: SchoolServer, saves: Saves) -> None:
    base = server.create_base("2026-2027")
    server.put_in_service(base.id, spr_login="spr", spr_password="secret")
    assert server.server_state is ServerState.SERVING
    assert server.base_in_service is base
    assert base.spr is not None and base.spr.login == "spr"
    assert base.spr.in_administration_group
    assert saves.last["in_service"] == base.id
    assert "secret" not in json.dumps(saves.last)


def test_later_mise_en_service_refuses_spr_fields(serving: SchoolServer) -> None:
    base = serving.base_in_service
    assert base is not None
    serving.stop()
    with pytest.raises(InvalidArgument, match="leave the SPR login and password empty"):
        serving.put_in_service(base.id, spr_login="other", spr_password="pw")
    serving.put_in_service(base.id)
    assert serving.base_in_service is base


def test_putting_the_base_in_service_twice_is_wrong_state(serving: SchoolServer) -> None:
    base = serving.base_in_service
    assert base is not None
    with pytest.raises(WrongState, match="already in service"):
        serving.put_in_service(base.id)


def test_another_base_needs_the_server_stopped(server: SchoolServer) -> None:
    old = server.create_base("2025-2026")
    new = server.create_base("2026-2027")
    server.put_in_service(old.id, "spr", "pw")
    with pytest.raises(WrongState, match="stop the server"):
        server.put_in_service(new.id, "spr", "pw")
    assert server.base_in_service is old


def test_put_in_service_of_unknown_base_is_not_found(server: SchoolServer) -> None:
    with pytest.raises(NotFound):
        server.put_in_service("nope", "spr", "pw")


def test_stop_disconnects_every_session(serving: SchoolServer, saves: Saves) -> None:
    connect(serving, Mode.ADMINISTRATIF, "secr", "secr-pw")
    connect(serving, Mode.ENSEIGNANT, "prof.a", "a-pw")
    connect(serving, Mode.VIE_SCOLAIRE, "cpe", "cpe-pw")
    serving.stop()
    assert serving.server_state is ServerState.STOPPED
    assert serving.connections() == []
    assert saves.last["in_service"] is None


def test_stop_of_a_stopped_server_is_wrong_state(server: SchoolServer) -> None:
    with pytest.raises(WrongState):
        server.stop()


def test_a_stopped_server_refuses_connections(serving: SchoolServer) -> None:
    serving.stop()
    with pytest.raises(WrongState, match="stopped"):
        connect(serving, Mode.ADMINISTRATIF, "secr", "secr-pw")


def test_add_user_needs_a_base_in_service(server: SchoolServer) -> None:
    with pytest.raises(WrongState):
        server.add_user("prof.a", "pw", "Prof A", UserKind.PROFESSEUR)


def test_add_user_refuses_an_empty_password(serving: SchoolServer) -> None:
    with pytest.raises(InvalidArgument):
        serving.add_user("prof.c", "", "Prof C", UserKind.PROFESSEUR)


def test_add_user_counts_teachers_in_the_base(serving: SchoolServer) -> None:
    base = serving.base_in_service
    assert base is not None
    assert base.counters.professeurs == 2


# -- connections ---------------------------------------------------------------------------


def test_connect_opens_a_session_listed_in_connections(
    serving: SchoolServer, clock: SimulatedClock
) -> None:
    session = connect(serving, Mode.ADMINISTRATIF, "secr", "secr-pw")
    assert session.base_name == "Base année 2026-2027.not"
    assert session.application == "Client PRONOTE 2026"
    assert session.poste == IP
    assert session.in_administration_group
    assert session.connected_at_seconds == clock.now()
    assert serving.connections() == [session]


def test_wrong_password_is_bad_credentials(serving: SchoolServer) -> None:
    with pytest.raises(BadCredentials):
        connect(serving, Mode.ENSEIGNANT, "prof.a", "wrong")
    assert serving.suspended_ips() == []


def test_maxretry_wrong_passwords_suspend_the_ip_even_for_the_right_password(
    serving: SchoolServer, saves: Saves
) -> None:
    for _ in range(SECURITY.maxretry):
        with pytest.raises(BadCredentials):
            connect(serving, Mode.ENSEIGNANT, "prof.a", "wrong")
    assert [s.ip for s in serving.suspended_ips()] == [IP]
    assert [s["ip"] for s in saves.last["suspensions"]] == [IP]
    with pytest.raises(Forbidden, match="suspended"):
        connect(serving, Mode.ENSEIGNANT, "prof.a", "a-pw")


def test_unknown_logins_count_towards_suspension(serving: SchoolServer) -> None:
    for _ in range(SECURITY.maxretry):
        with pytest.raises(BadCredentials):
            connect(serving, Mode.ENSEIGNANT, "nobody", "x")
    with pytest.raises(Forbidden):
        connect(serving, Mode.ENSEIGNANT, "prof.a", "a-pw")


def test_suspension_is_per_ip(serving: SchoolServer) -> None:
    for _ in range(SECURITY.maxretry):
        with pytest.raises(BadCredentials):
            connect(serving, Mode.ENSEIGNANT, "prof.a", "wrong")
    connect(serving, Mode.ENSEIGNANT, "prof.a", "a-pw", ip="10.0.0.8")


def test_suspension_ends_after_bantime(serving: SchoolServer, clock: SimulatedClock) -> None:
    for _ in range(SECURITY.maxretry):
        with pytest.raises(BadCredentials):
            connect(serving, Mode.ENSEIGNANT, "prof.a", "wrong")
    clock.advance(SECURITY.bantime_seconds - 1)
    with pytest.raises(Forbidden):
        connect(serving, Mode.ENSEIGNANT, "prof.a", "a-pw")
    clock.advance(1)
    connect(serving, Mode.ENSEIGNANT, "prof.a", "a-pw")


def test_unblock_lets_the_ip_connect_again(serving: SchoolServer, saves: Saves) -> None:
    for _ in range(SECURITY.maxretry):
        with pytest.raises(BadCredentials):
            connect(serving, Mode.ENSEIGNANT, "prof.a", "wrong")
    assert serving.unblock(IP) == 1
    assert saves.last["suspensions"] == []
    connect(serving, Mode.ENSEIGNANT, "prof.a", "a-pw")


def test_unblock_needs_an_ip(serving: SchoolServer) -> None:
    with pytest.raises(InvalidArgument):
        serving.unblock("")


def test_unblock_all(serving: SchoolServer) -> None:
    for ip in ("10.0.0.1", "10.0.0.2"):
        for _ in range(SECURITY.maxretry):
            with pytest.raises(BadCredentials):
                connect(serving, Mode.ENSEIGNANT, "prof.a", "wrong", ip=ip)
    assert serving.unblock_all() == 2
    assert serving.suspended_ips() == []


def test_a_teacher_cannot_connect_in_administratif(serving: SchoolServer) -> None:
    with pytest.raises(Forbidden, match="Administratif"):
        connect(serving, Mode.ADMINISTRATIF, "prof.a", "a-pw")
    assert serving.connections() == []


def test_a_personnel_cannot_connect_in_enseignant(serving: SchoolServer) -> None:
    with pytest.raises(Forbidden, match="Enseignant"):
        connect(serving, Mode.ENSEIGNANT, "cpe", "cpe-pw")


def test_refused_mode_does_not_count_towards_suspension(serving: SchoolServer) -> None:
    for _ in range(SECURITY.maxretry + 1):
        with pytest.raises(Forbidden, match="cannot connect in mode"):
            connect(serving, Mode.ADMINISTRATIF, "prof.a", "a-pw")
    assert serving.suspended_ips() == []


def test_exhausted_modification_licences_are_refused(serving: SchoolServer) -> None:
    connect(serving, Mode.ADMINISTRATIF, "secr", "secr-pw")
    connect(serving, Mode.EDT, "cpe", "cpe-pw")
    with pytest.raises(LicencesExhausted):
        connect(serving, Mode.ADMINISTRATIF, "spr", "spr-password")
    assert serving.licences().administratif_in_use == 2


def test_exhausted_teacher_licences_are_refused(serving: SchoolServer) -> None:
    connect(serving, Mode.ENSEIGNANT, "prof.a", "a-pw")
    connect(serving, Mode.ENSEIGNANT, "prof.a", "a-pw")  # the same teacher twice: one licence
    with pytest.raises(LicencesExhausted):
        connect(serving, Mode.ENSEIGNANT, "prof.b", "b-pw")


def test_reserved_licence_keeps_a_place_for_administration(
    serving: SchoolServer, saves: Saves
) -> None:
    assert serving.reserve_licences(1).reserved_for_administration == 1
    assert saves.last["reserved_licences"] == 1
    connect(serving, Mode.ADMINISTRATIF, "cpe", "cpe-pw")
    with pytest.raises(LicencesExhausted, match="reserved"):
        connect(serving, Mode.EDT, "cpe", "cpe-pw")
    connect(serving, Mode.ADMINISTRATIF, "secr", "secr-pw")


def test_reserve_more_licences_than_the_school_has_is_refused(serving: SchoolServer) -> None:
    with pytest.raises(InvalidArgument):
        serving.reserve_licences(3)


def test_a_reservation_given_in_the_policy_is_kept(clock: SimulatedClock, saves: Saves) -> None:
    server = make_server(clock, saves, licence_policy=LicencePolicy(4, None, 2))
    assert server.licences().reserved_for_administration == 2


def test_disconnect_frees_the_licence(serving: SchoolServer) -> None:
    first = connect(serving, Mode.ADMINISTRATIF, "secr", "secr-pw")
    connect(serving, Mode.ADMINISTRATIF, "cpe", "cpe-pw")
    serving.disconnect(first.id)
    connect(serving, Mode.ADMINISTRATIF, "spr", "spr-password")
    with pytest.raises(NotFound):
        serving.disconnect(first.id)


# -- idle sessions on the simulated clock --------------------------------------------------


def test_idle_sessions_expire_when_the_clock_advances(
    serving: SchoolServer, clock: SimulatedClock
) -> None:
    session = connect(serving, Mode.ENSEIGNANT, "prof.a", "a-pw")
    clock.advance(IDLE_SECONDS - 1)
    assert serving.connections() == [session]
    clock.advance(1)
    assert serving.connections() == []
    with pytest.raises(NotFound):
        serving.heartbeat(session.id)


def test_heartbeat_keeps_a_session_alive(serving: SchoolServer, clock: SimulatedClock) -> None:
    session = connect(serving, Mode.ENSEIGNANT, "prof.a", "a-pw")
    clock.advance(IDLE_SECONDS - 1)
    assert serving.heartbeat(session.id) == IDLE_SECONDS
    clock.advance(IDLE_SECONDS - 1)
    assert serving.connections() == [session]


def test_expired_sessions_give_back_their_licences(
    serving: SchoolServer, clock: SimulatedClock
) -> None:
    connect(serving, Mode.ENSEIGNANT, "prof.a", "a-pw")
    clock.advance(IDLE_SECONDS)
    connect(serving, Mode.ENSEIGNANT, "prof.b", "b-pw")
    assert serving.licences().enseignant_in_use == 1


def test_close_ends_the_session(serving: SchoolServer) -> None:
    session = connect(serving, Mode.VIE_SCOLAIRE, "cpe", "cpe-pw")
    serving.close(session.id)
    assert serving.connections() == []


# -- saved state ---------------------------------------------------------------------------


def test_saved_state_restores_bases_reservation_and_bans_but_not_sessions(
    serving: SchoolServer, saves: Saves, clock: SimulatedClock
) -> None:
    serving.reserve_licences(1)
    connect(serving, Mode.ENSEIGNANT, "prof.a", "a-pw")
    for _ in range(SECURITY.maxretry):
        with pytest.raises(BadCredentials):
            connect(serving, Mode.ENSEIGNANT, "prof.a", "wrong")
    before = serving.base_in_service
    assert before is not None

    restarted = make_server(clock, Saves(), saved_state=saves.last)

    assert [b.id for b in restarted.bases] == [before.id]
    assert restarted.server_state is ServerState.SERVING
    assert restarted.base_in_service is not None
    assert set(restarted.base_in_service.users) == {"spr", "secr", "cpe", "prof.a", "prof.b"}
    assert restarted.licences().reserved_for_administration == 1
    assert [s.ip for s in restarted.suspended_ips()] == [IP]
    assert restarted.connections() == []
    with pytest.raises(Forbidden):
        connect(restarted, Mode.ENSEIGNANT, "prof.a", "a-pw")
    connect(restarted, Mode.ENSEIGNANT, "prof.a", "a-pw", ip="10.0.0.8")


def test_restored_spr_needs_no_new_spr(
    serving: SchoolServer, saves: Saves, clock: SimulatedClock
) -> None:
    base = serving.base_in_service
    assert base is not None
    serving.stop()
    restarted = make_server(clock, Saves(), saved_state=saves.last)
    with pytest.raises(InvalidArgument):
        restarted.put_in_service(base.id, "spr2", "pw")
    restarted.put_in_service(base.id)
    connect(restarted, Mode.ADMINISTRATIF, "spr", "spr-password")


def test_restored_ban_still_expires_on_time(
    serving: SchoolServer, saves: Saves, clock: SimulatedClock
) -> None:
    for _ in range(SECURITY.maxretry):
        with pytest.raises(BadCredentials):
            connect(serving, Mode.ENSEIGNANT, "prof.a", "wrong")
    restarted = make_server(clock, Saves(), saved_state=saves.last)
    clock.advance(SECURITY.bantime_seconds)
    assert restarted.suspended_ips() == []
    connect(restarted, Mode.ENSEIGNANT, "prof.a", "a-pw")


def test_expired_bans_are_not_saved(
    serving: SchoolServer, saves: Saves, clock: SimulatedClock
) -> None:
    for _ in range(SECURITY.maxretry):
        with pytest.raises(BadCredentials):
            connect(serving, Mode.ENSEIGNANT, "prof.a", "wrong")
    clock.advance(SECURITY.bantime_seconds)
    serving.reserve_licences(0)
    assert saves.last["suspensions"] == []


def test_saved_state_of_another_format_is_refused(clock: SimulatedClock, saves: Saves) -> None:
    with pytest.raises(InvalidArgument, match="format"):
        make_server(clock, saves, saved_state={"format": 99, "bases": []})


def test_an_empty_server_resumes_from_a_backup_in_service_and_says_so(
    serving: SchoolServer, clock: SimulatedClock
) -> None:
    """Reprise sur sauvegarde (swarm://: a school back on another node, empty): the backup's
    bases, base in service and Historique are taken whole, and the reprise is recorded."""
    serving.reserve_licences(1)
    state = serving.snapshot()
    before = serving.base_in_service
    assert before is not None
    fresh = make_server(clock, Saves())
    fresh.resume_from(state, "serveur reparti sur node1 ; données de la sauvegarde X.sauvs")
    assert fresh.base_in_service is not None and fresh.base_in_service.id == before.id
    assert fresh.server_state is ServerState.SERVING
    assert fresh.licences().reserved_for_administration == 1
    last = fresh.history.entries()[-1]
    assert (last.action.label, last.detail) == (
        "Reprise sur sauvegarde",
        "serveur reparti sur node1 ; données de la sauvegarde X.sauvs",
    )
    assert len(fresh.history.entries()) == len(serving.history.entries()) + 1
    connect(fresh, Mode.ENSEIGNANT, "prof.a", "a-pw", ip="10.0.0.9")
    with pytest.raises(WrongState, match="already holds bases"):
        fresh.resume_from(state, "twice")


@pytest.mark.parametrize(("generated", "scheme"), [(False, "scrypt$"), (True, "sha256$")])
def test_an_spr_password_costs_scrypt_only_if_a_person_chose_it(
    clock: SimulatedClock, generated: bool, scheme: str
) -> None:
    """DESIGN decision 12: a demo school's SPR password was drawn by the data-center."""
    saves = Saves()
    server = make_server(clock, saves)
    base = server.create_base("2026-2027")
    server.put_in_service(base.id, "spr", "Chosen or drawn", spr_password_generated=generated)
    stored = saves.last["bases"][0]["users"]["spr"]["password_hash"]
    assert stored.startswith(scheme)
    restarted = make_server(clock, Saves(), saves.last)  # a saved hash of either kind verifies
    session = restarted.connect(Mode.ADMINISTRATIF, "spr", "Chosen or drawn", "10.0.0.1", "", "")
    assert session.login == "spr"
