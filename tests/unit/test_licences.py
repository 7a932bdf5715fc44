"""Licence counting: licences en modification with a reservation, teachers, vie scolaire."""

from __future__ import annotations

import itertools

import pytest

from vm_agent.domain.errors import InvalidArgument, LicencesExhausted
from vm_agent.domain.licences import LicencePolicy, check_admission, usage
from vm_agent.domain.modes import Mode
from vm_agent.domain.sessions import Session

_ids = itertools.count()


def session(mode: Mode, login: str = "", administration: bool = False) -> Session:
    number = next(_ids)
    return Session(
        id=f"s{number}",
        login=login or f"user{number}",
        display_name=login or f"User {number}",
        mode=mode,
        in_administration_group=administration,
        source_ip="127.0.0.1",
        poste="poste",
        application="Client PRONOTE 2026",
        base_name="Base année 2026-2027.not",
        connected_at_seconds=0.0,
        last_seen_seconds=0.0,
    )


def admit(
    policy: LicencePolicy,
    sessions: list[Session],
    mode: Mode = Mode.ADMINISTRATIF,
    administration: bool = False,
    login: str = "",
) -> None:
    """Admit one more session, as the server does: check, then add it to `sessions`."""
    new = session(mode, login, administration)
    check_admission(policy, sessions, mode, new.login, administration)
    sessions.append(new)


# -- licences en modification, no reservation ---------------------------------------------


def test_modification_licences_fill_up_to_capacity_then_refuse() -> None:
    policy = LicencePolicy(administratif_capacity=4, teacher_capacity=None)
    sessions: list[Session] = []
    for _ in range(4):
        admit(policy, sessions)
    with pytest.raises(LicencesExhausted, match="all 4 licences en modification"):
        admit(policy, sessions)


def test_edt_sessions_take_modification_licences_too() -> None:
    policy = LicencePolicy(administratif_capacity=2, teacher_capacity=None)
    sessions = [session(Mode.EDT), session(Mode.ADMINISTRATIF)]
    with pytest.raises(LicencesExhausted):
        admit(policy, sessions, Mode.EDT)


def test_full_modification_licences_refuse_administration_too() -> None:
    policy = LicencePolicy(administratif_capacity=2, teacher_capacity=None)
    sessions = [session(Mode.ADMINISTRATIF), session(Mode.ADMINISTRATIF)]
    with pytest.raises(LicencesExhausted):
        admit(policy, sessions, administration=True)


def test_enseignant_and_vie_scolaire_do_not_take_modification_licences() -> None:
    policy = LicencePolicy(administratif_capacity=1, teacher_capacity=None)
    sessions = [session(Mode.ENSEIGNANT), session(Mode.VIE_SCOLAIRE)]
    admit(policy, sessions)
    assert usage(policy, sessions).administratif_in_use == 1


# -- reserved licences ---------------------------------------------------------------------


def test_reservation_of_two_in_four_lets_two_others_in_and_refuses_the_third() -> None:
    policy = LicencePolicy(4, None, reserved_for_administration=2)
    sessions: list[Session] = []
    admit(policy, sessions)
    admit(policy, sessions)
    with pytest.raises(LicencesExhausted, match="reserved for the Administration group"):
        admit(policy, sessions)


def test_administration_takes_the_reserved_licences_after_others_filled_theirs() -> None:
    policy = LicencePolicy(4, None, reserved_for_administration=2)
    sessions: list[Session] = []
    admit(policy, sessions)
    admit(policy, sessions)
    admit(policy, sessions, administration=True)
    admit(policy, sessions, administration=True)
    assert usage(policy, sessions).administratif_in_use == 4
    with pytest.raises(LicencesExhausted, match="all 4 licences en modification"):
        admit(policy, sessions, administration=True)


def test_administration_beyond_the_reservation_leaves_the_last_licence_to_others() -> None:
    # 3 admins hold licences: max(3, reserved 2) = 3 kept, so 0 + 1 + 3 <= 4 lets one other in.
    policy = LicencePolicy(4, None, reserved_for_administration=2)
    sessions = [session(Mode.ADMINISTRATIF, administration=True) for _ in range(3)]
    admit(policy, sessions)
    assert len(sessions) == 4


def test_one_admin_connected_still_keeps_the_full_reservation() -> None:
    # 1 admin, reserved 2: others may use 4 - 2 = 2 licences, not 3.
    policy = LicencePolicy(4, None, reserved_for_administration=2)
    sessions = [session(Mode.ADMINISTRATIF, administration=True)]
    admit(policy, sessions)
    admit(policy, sessions)
    with pytest.raises(LicencesExhausted):
        admit(policy, sessions)


def test_reservation_of_everything_refuses_every_other_user() -> None:
    policy = LicencePolicy(3, None, reserved_for_administration=3)
    with pytest.raises(LicencesExhausted):
        admit(policy, [])
    sessions: list[Session] = []
    for _ in range(3):
        admit(policy, sessions, administration=True)


def test_reservation_also_applies_to_edt() -> None:
    policy = LicencePolicy(2, None, reserved_for_administration=1)
    sessions = [session(Mode.EDT)]
    with pytest.raises(LicencesExhausted):
        admit(policy, sessions, Mode.EDT)


def test_no_reservation_lets_others_use_every_licence() -> None:
    policy = LicencePolicy(4, None, reserved_for_administration=0)
    sessions: list[Session] = []
    for _ in range(4):
        admit(policy, sessions)
    assert usage(policy, sessions).administratif_in_use == 4


@pytest.mark.parametrize("count", [0, 2, 4])
def test_with_reserved_accepts_zero_to_capacity(count: int) -> None:
    policy = LicencePolicy(4, 30).with_reserved(count)
    assert policy == LicencePolicy(4, 30, count)


@pytest.mark.parametrize("count", [-1, 5])
def test_with_reserved_refuses_out_of_bounds(count: int) -> None:
    with pytest.raises(InvalidArgument, match="between 0 and the 4"):
        LicencePolicy(4, 30).with_reserved(count)


# -- teachers ------------------------------------------------------------------------------


def test_teachers_are_capped_by_the_formula() -> None:
    policy = LicencePolicy(4, teacher_capacity=2)
    sessions: list[Session] = []
    admit(policy, sessions, Mode.ENSEIGNANT, login="prof.a")
    admit(policy, sessions, Mode.ENSEIGNANT, login="prof.b")
    with pytest.raises(LicencesExhausted, match="all 2 teacher licences"):
        admit(policy, sessions, Mode.ENSEIGNANT, login="prof.c")


def test_a_teacher_connected_twice_uses_one_licence() -> None:
    policy = LicencePolicy(4, teacher_capacity=2)
    sessions: list[Session] = []
    admit(policy, sessions, Mode.ENSEIGNANT, login="prof.a")
    admit(policy, sessions, Mode.ENSEIGNANT, login="prof.a")
    admit(policy, sessions, Mode.ENSEIGNANT, login="prof.b")
    admit(policy, sessions, Mode.ENSEIGNANT, login="prof.b")
    assert usage(policy, sessions).enseignant_in_use == 2
    with pytest.raises(LicencesExhausted):
        admit(policy, sessions, Mode.ENSEIGNANT, login="prof.c")


def test_unlimited_formula_never_refuses_a_teacher() -> None:
    policy = LicencePolicy(4, teacher_capacity=None)
    sessions: list[Session] = []
    for number in range(200):
        admit(policy, sessions, Mode.ENSEIGNANT, login=f"prof{number}")
    assert usage(policy, sessions).enseignant_in_use == 200


def test_teachers_in_other_modes_do_not_count_as_teachers() -> None:
    policy = LicencePolicy(4, teacher_capacity=1)
    sessions = [session(Mode.VIE_SCOLAIRE, "cpe"), session(Mode.ADMINISTRATIF, "secr")]
    admit(policy, sessions, Mode.ENSEIGNANT, login="prof.a")


# -- vie scolaire and usage ----------------------------------------------------------------


def test_vie_scolaire_is_never_capped() -> None:
    policy = LicencePolicy(1, teacher_capacity=1)
    sessions: list[Session] = []
    for _ in range(50):
        admit(policy, sessions, Mode.VIE_SCOLAIRE)
    assert usage(policy, sessions).vie_scolaire_in_use == 50


def test_usage_counts_every_mode() -> None:
    policy = LicencePolicy(6, 30, reserved_for_administration=2)
    sessions = [
        session(Mode.ADMINISTRATIF, administration=True),
        session(Mode.ADMINISTRATIF),
        session(Mode.EDT),
        session(Mode.ENSEIGNANT, "prof.a"),
        session(Mode.ENSEIGNANT, "prof.a"),
        session(Mode.ENSEIGNANT, "prof.b"),
        session(Mode.VIE_SCOLAIRE),
    ]
    result = usage(policy, sessions)
    assert result.administratif_in_use == 3
    assert result.administratif_capacity == 6
    assert result.reserved_for_administration == 2
    assert result.enseignant_in_use == 2
    assert result.enseignant_capacity == 30
    assert result.vie_scolaire_in_use == 1
    assert result.edt_in_use == 1


def test_usage_accepts_any_iterable() -> None:
    policy = LicencePolicy(4, None)
    result = usage(policy, (s for s in [session(Mode.EDT), session(Mode.VIE_SCOLAIRE)]))
    assert (result.administratif_in_use, result.vie_scolaire_in_use) == (1, 1)
