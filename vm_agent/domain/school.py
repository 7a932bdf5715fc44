"""The Serveur PRONOTE of one school: bases, sessions, licences and security together.

Every change to state that must survive (bases, users, reservations, suspensions) is saved
through the store before the call returns; live sessions are not saved, as on a real server.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from common import secrets
from common.clock import Clock
from vm_agent.domain import licences, rentree
from vm_agent.domain.bases import (
    Base,
    ServerState,
    User,
    base_from_dict,
    base_to_dict,
    find_base,
    new_base,
)
from vm_agent.domain.errors import (
    AlreadyExists,
    BadCredentials,
    Forbidden,
    InvalidArgument,
    LicencesExhausted,
    NotFound,
    WrongState,
)
from vm_agent.domain.licences import LicencePolicy, LicenceUsage
from vm_agent.domain.modes import ADMINISTRATION_GROUP, ALLOWED_KINDS, Mode, UserKind
from vm_agent.domain.publication import Publication
from vm_agent.domain.rentree import Recovered, YearSwitch
from vm_agent.domain.security import Guard, SecurityPolicy, Suspension
from vm_agent.domain.sessions import Session, SessionTable, new_session_id

STATE_FORMAT = 1

# Why a Client PRONOTE connection was refused: a fixed set, so metrics stay bounded.
REFUSAL_REASONS = (
    "suspended_ip",
    "server_stopped",
    "bad_credentials",
    "mode_not_allowed",
    "licences_exhausted",
)


@dataclass(frozen=True)
class SchoolIdentity:
    uai: str
    name: str
    pronote_version: str = "2026"


class SchoolServer:
    def __init__(
        self,
        identity: SchoolIdentity,
        licence_policy: LicencePolicy,
        security_policy: SecurityPolicy,
        idle_timeout_seconds: float,
        clock: Clock,
        save: Callable[[dict[str, Any]], None],
        saved_state: dict[str, Any] | None = None,
    ) -> None:
        self.identity = identity
        self._clock = clock
        self._save = save
        self.sessions = SessionTable(idle_timeout_seconds)
        state = saved_state or {}
        if state and state.get("format") != STATE_FORMAT:
            raise InvalidArgument(
                f"saved state has format {state.get('format')!r}, this server reads "
                f"{STATE_FORMAT}; upgrade pronote-dc"
            )
        self.bases: list[Base] = [base_from_dict(b) for b in state.get("bases", [])]
        self._in_service_id: str | None = state.get("in_service")
        self.licence_policy = licence_policy.with_reserved(
            state.get("reserved_licences", licence_policy.reserved_for_administration)
        )
        self.guard = Guard(security_policy, [Suspension(**s) for s in state.get("suspensions", [])])
        self.publication = Publication.from_dict(state.get("publication", {}))
        # Event counts since this process started (not saved: counters restart at zero).
        self.authentication_failures = 0
        self.ip_suspensions = 0
        self.refusals = dict.fromkeys(REFUSAL_REASONS, 0)

    # -- state -----------------------------------------------------------------------------

    @property
    def server_state(self) -> ServerState:
        return ServerState.SERVING if self._in_service_id else ServerState.STOPPED

    @property
    def base_in_service(self) -> Base | None:
        if self._in_service_id is None:
            return None
        return find_base(self.bases, self._in_service_id)

    def _persist(self) -> None:
        self._save(self.snapshot())

    def snapshot(self) -> dict[str, Any]:
        """The state that survives a restart; a backup holds it too."""
        return {
            "format": STATE_FORMAT,
            "bases": [base_to_dict(b) for b in self.bases],
            "in_service": self._in_service_id,
            "reserved_licences": self.licence_policy.reserved_for_administration,
            "suspensions": [asdict(s) for s in self.guard.suspensions(self._clock.now())],
            "publication": self.publication.to_dict(),
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Ouvrir une sauvegarde: its bases and licence reservations replace the current ones
        (server stopped first); the user then puts a base in service. Suspensions stay."""
        self._require_stopped("open a backup or an archive")
        if state.get("format") != STATE_FORMAT:
            raise InvalidArgument(
                f"the backup has state format {state.get('format')!r}, this server reads "
                f"{STATE_FORMAT}; open it with a matching pronote-dc"
            )
        try:
            bases = [base_from_dict(b) for b in state.get("bases", [])]
            policy = self.licence_policy.with_reserved(int(state.get("reserved_licences", 0)))
        except (KeyError, TypeError, ValueError) as error:
            raise InvalidArgument(f"the backup's bases cannot be read ({error})") from None
        self.bases = bases
        self.licence_policy = policy
        self._persist()

    # -- Serveur PRONOTE panel -------------------------------------------------------------

    def create_base(self, school_year: str, sample_records: bool = False) -> Base:
        self._require_stopped("create a base")
        if any(b.school_year == school_year for b in self.bases):
            raise AlreadyExists(
                f"a base for {school_year} already exists; open it from the list of bases"
            )
        base = new_base(school_year, self._clock.now())
        if sample_records:
            base.records = rentree.sample_records(self.identity.uai, school_year)
        self.bases.append(base)
        self._persist()
        return base

    def put_in_service(self, base_id: str, spr_login: str = "", spr_password: str = "") -> Base:
        base = find_base(self.bases, base_id)
        if self._in_service_id == base_id:
            raise WrongState(f"{base.name} is already in service")
        self._require_stopped("put another base in service")
        if base.spr is None:
            if not spr_login or not spr_password:
                raise InvalidArgument(
                    "the first mise en service of a base defines its SPR: give an SPR login "
                    "and password"
                )
            base.add_user(
                User(
                    login=spr_login,
                    password_hash=secrets.hash_password(spr_password),
                    display_name="SPR",
                    kind=UserKind.PERSONNEL,
                    group=ADMINISTRATION_GROUP,
                    is_spr=True,
                )
            )
        elif spr_login or spr_password:
            raise InvalidArgument(
                f"the SPR of {base.name} was defined at its first mise en service; "
                "leave the SPR login and password empty"
            )
        base.ever_in_service = True
        self._in_service_id = base.id
        self._persist()
        return base

    def stop(self) -> None:
        """Arrêter le serveur: every client is disconnected."""
        if self._in_service_id is None:
            raise WrongState("the server is already stopped")
        self._in_service_id = None
        self.sessions.clear()
        self._persist()

    def add_user(
        self, login: str, password: str, display_name: str, kind: UserKind, group: str = ""
    ) -> User:
        base = self._require_base_in_service("add a user")
        if not password:
            raise InvalidArgument("give the user a password")
        user = User(login, secrets.hash_secret(password), display_name or login, kind, group)
        base.add_user(user)
        self._persist()
        return user

    def licences(self) -> LicenceUsage:
        self.expire_idle()
        return licences.usage(self.licence_policy, self.sessions)

    def reserve_licences(self, count: int) -> LicenceUsage:
        self.licence_policy = self.licence_policy.with_reserved(count)
        self._persist()
        return self.licences()

    def connections(self) -> list[Session]:
        self.expire_idle()
        return sorted(self.sessions, key=lambda s: s.connected_at_seconds)

    def disconnect(self, session_id: str) -> Session:
        return self.sessions.remove(session_id)

    def suspended_ips(self) -> list[Suspension]:
        return self.guard.suspensions(self._clock.now())

    def unblock(self, ip: str) -> int:
        if not ip:
            raise InvalidArgument("say which IP to unblock, or unblock them all")
        count = self.guard.unblock(ip)
        self._persist()
        return count

    def unblock_all(self) -> int:
        count = self.guard.unblock_all()
        self._persist()
        return count

    # -- Client PRONOTE on port 49300 ------------------------------------------------------

    def connect(
        self, mode: Mode, login: str, password: str, source_ip: str, poste: str, application: str
    ) -> Session:
        now = self._clock.now()
        suspension = self.guard.suspension(source_ip, now)
        if suspension is not None:
            self.refusals["suspended_ip"] += 1
            raise Forbidden(
                f"connections from {source_ip} are suspended after too many failed logins "
                f"until {_clock_time(suspension.until_seconds)} UTC; ask the school's "
                "administrator to unblock this IP"
            )
        try:
            base = self._require_base_in_service("accept connections")
        except WrongState:
            self.refusals["server_stopped"] += 1
            raise
        try:
            user = base.authenticate(login, password)
        except BadCredentials:
            self.authentication_failures += 1
            self.refusals["bad_credentials"] += 1
            if self.guard.record_failure(source_ip, now) is not None:
                self.ip_suspensions += 1
                self._persist()
            raise
        if user.kind not in ALLOWED_KINDS[mode]:
            self.refusals["mode_not_allowed"] += 1
            raise Forbidden(
                f"{user.display_name} ({user.kind.value}) cannot connect in mode {mode.label}; "
                "choose a mode open to this user"
            )
        self.expire_idle()
        try:
            licences.check_admission(
                self.licence_policy, self.sessions, mode, user.login, user.in_administration_group
            )
        except LicencesExhausted:
            self.refusals["licences_exhausted"] += 1
            raise
        session = Session(
            id=new_session_id(),
            login=user.login,
            display_name=user.display_name,
            mode=mode,
            in_administration_group=user.in_administration_group,
            source_ip=source_ip,
            poste=poste or source_ip,
            application=application or f"Client PRONOTE {self.identity.pronote_version}",
            base_name=base.name,
            connected_at_seconds=now,
            last_seen_seconds=now,
        )
        self.sessions.add(session)
        return session

    def heartbeat(self, session_id: str) -> float:
        """Keep a session alive; returns the seconds left before it would expire."""
        self.expire_idle()
        self.sessions.touch(session_id, self._clock.now())
        return self.sessions.idle_timeout_seconds

    def close(self, session_id: str) -> None:
        self.sessions.remove(session_id)

    def expire_idle(self) -> list[Session]:
        return self.sessions.expire(self._clock.now())

    # -- the yearly cycle (vm_agent.domain.rentree) ---------------------------------------

    def start_new_year(
        self, school_year: str, at_seconds: float, keep_in_service: bool = False
    ) -> YearSwitch:
        """The version switch: last year's base in service is replaced by the new year's (an
        empty one, created, unless it exists), its SPR carried over so the school can log in;
        the new year's base in service (or `keep_in_service`) is kept."""
        current = self.base_in_service
        if current is None:
            return YearSwitch("skipped", None, "no base in service")
        if keep_in_service or current.school_year >= school_year:
            return YearSwitch("kept", current)
        target = next((b for b in self.bases if b.school_year == school_year), None)
        if target is None:
            target = new_base(school_year, at_seconds)
            self.bases.append(target)
        old_spr = current.spr
        if target.spr is None and old_spr is not None:
            target.users[old_spr.login] = dataclasses.replace(old_spr)
        target.ever_in_service = True
        self._in_service_id = target.id
        self.sessions.clear()  # last year's clients are disconnected, as on "arrêter"
        self._persist()
        return YearSwitch("new_base", target, f"{current.name} replaced")

    def recover_last_year(self, archive_state: dict[str, Any], kinds: list[str]) -> list[Recovered]:
        """Récupérer les données de l'an passé from a July archive's state."""
        base = self._require_base_in_service("recover last year's data into it")
        kinds = rentree.parse_kinds(kinds)
        last_year = rentree.previous_school_year(base.school_year)
        try:
            bases = [base_from_dict(b) for b in archive_state.get("bases", [])]
        except (KeyError, TypeError, ValueError) as error:
            raise InvalidArgument(f"the archive's bases cannot be read ({error})") from None
        source = next((b for b in bases if b.school_year == last_year), None)
        if source is None:
            raise NotFound(f"the archive holds no base of {last_year}; nothing was changed")
        recovered = rentree.recover(base, source, kinds)
        self._persist()
        return recovered

    # -- helpers ---------------------------------------------------------------------------

    def _require_stopped(self, action: str) -> None:
        base = self.base_in_service
        if base is not None:
            raise WrongState(f"stop the server before you {action}: {base.name} is in service")

    def _require_base_in_service(self, action: str) -> Base:
        base = self.base_in_service
        if base is None:
            raise WrongState(
                f"the server is stopped (no base in service) and cannot {action}; "
                "put a base in service from the console"
            )
        return base


def _clock_time(epoch_seconds: float) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(epoch_seconds, tz=datetime.UTC).strftime("%H:%M:%S")
