"""Licence counting (DOMAIN.md, "Licences and connections").

- Administratif and Client EDT sessions each hold one "licence en modification", up to the
  school's "administrateurs et modifiants" count; `reserved` of them are kept for the
  Administration group (and the SPR), so those users can always connect: everyone else shares
  the other `capacity - reserved`.
- Enseignant counts distinct teachers, capped by the formula (30/50/80, or unlimited), whether
  connected by Client PRONOTE in Mode enseignant, on the Espace Professeurs, or both (Index
  Education's FAQ: teachers connected "en Mode enseignant (ou à l'Espace Professeurs)").
- Vie scolaire is counted, not capped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from vm_agent.domain.errors import InvalidArgument, LicencesExhausted
from vm_agent.domain.modes import Mode
from vm_agent.domain.sessions import Session


@dataclass(frozen=True)
class LicencePolicy:
    administratif_capacity: int
    teacher_capacity: int | None  # None: the unlimited formula
    reserved_for_administration: int = 0

    def with_reserved(self, count: int) -> LicencePolicy:
        if not 0 <= count <= self.administratif_capacity:
            raise InvalidArgument(
                f"cannot reserve {count} licences: choose between 0 and the "
                f"{self.administratif_capacity} administratif licences of this school"
            )
        return LicencePolicy(self.administratif_capacity, self.teacher_capacity, count)


@dataclass(frozen=True)
class LicenceUsage:
    administratif_in_use: int
    administratif_capacity: int
    reserved_for_administration: int
    enseignant_in_use: int
    enseignant_capacity: int | None
    vie_scolaire_in_use: int
    edt_in_use: int


def usage(
    policy: LicencePolicy, sessions: Iterable[Session], web_teachers: Iterable[str] = ()
) -> LicenceUsage:
    """`web_teachers`: logins of the teachers on the Espace Professeurs now."""
    sessions = list(sessions)
    return LicenceUsage(
        administratif_in_use=sum(1 for s in sessions if s.mode.modifies),
        administratif_capacity=policy.administratif_capacity,
        reserved_for_administration=policy.reserved_for_administration,
        enseignant_in_use=len(_teachers(sessions, web_teachers)),
        enseignant_capacity=policy.teacher_capacity,
        vie_scolaire_in_use=sum(1 for s in sessions if s.mode is Mode.VIE_SCOLAIRE),
        edt_in_use=sum(1 for s in sessions if s.mode is Mode.EDT),
    )


def check_admission(
    policy: LicencePolicy,
    sessions: Iterable[Session],
    mode: Mode,
    login: str,
    in_administration_group: bool,
    web_teachers: Iterable[str] = (),
) -> None:
    """Raise LicencesExhausted if one more session in `mode` would go over a limit."""
    sessions = list(sessions)
    if mode.modifies:
        _check_modification_licence(policy, sessions, in_administration_group)
    elif mode is Mode.ENSEIGNANT:
        check_teacher(policy, _teachers(sessions, web_teachers), login)


def check_teacher(policy: LicencePolicy, teachers: set[str], login: str) -> None:
    """Raise LicencesExhausted if `login` would be one teacher more than the formula."""
    capacity = policy.teacher_capacity
    if capacity is not None and login not in teachers and len(teachers) >= capacity:
        raise LicencesExhausted(
            f"all {capacity} teacher licences of this formula are in use (Client PRONOTE and "
            "Espace Professeurs); wait for a teacher to disconnect, or move the school to a "
            "larger formula"
        )


def _teachers(sessions: list[Session], web_teachers: Iterable[str]) -> set[str]:
    return {s.login for s in sessions if s.mode is Mode.ENSEIGNANT} | set(web_teachers)


def _check_modification_licence(
    policy: LicencePolicy, sessions: list[Session], in_administration_group: bool
) -> None:
    holders = [s for s in sessions if s.mode.modifies]
    capacity = policy.administratif_capacity
    if len(holders) >= capacity:
        raise LicencesExhausted(
            f"all {capacity} licences en modification are in use; disconnect a client from "
            "the console's Suivi des connexions, or buy more administratif licences"
        )
    if in_administration_group:
        return
    others = sum(1 for s in holders if not s.in_administration_group)
    if others + 1 > capacity - policy.reserved_for_administration:
        raise LicencesExhausted(
            f"the free licences en modification are reserved for the Administration group "
            f"({policy.reserved_for_administration} reserved); wait for a licence, or lower "
            "the reservation in the console"
        )
