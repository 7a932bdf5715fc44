"""The Serveur PRONOTE of one school: bases, sessions, licences and security together.

Every change to state that must survive (bases, users, reservations, suspensions) is saved
through the store before the call returns; live sessions are not saved, as on a real server.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any, Protocol, TypeVar

from common import secrets
from common.clock import Clock, SimulatedClock
from vm_agent.domain import licences, rentree, synthetic
from vm_agent.domain.bases import (
    Base,
    ServerState,
    User,
    base_from_dict,
    base_to_dict,
    find_base,
    new_base,
)
from vm_agent.domain.counters import (
    COUNTED_FIELDS,
    BaseCounters,
    check_resources,
    resources_only,
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
from vm_agent.domain.history import Action, History
from vm_agent.domain.licences import LicencePolicy, LicenceUsage
from vm_agent.domain.modes import (
    ADMINISTRATION_GROUP,
    ALLOWED_KINDS,
    PERSON_USER_KINDS,
    Mode,
    UserKind,
)
from vm_agent.domain.publication import Espace, Publication
from vm_agent.domain.rentree import Recovered, YearSwitch
from vm_agent.domain.school_data import PersonKind, Responsable, SchoolData
from vm_agent.domain.security import Guard, SecurityPolicy, Suspension
from vm_agent.domain.sessions import Session, SessionTable, new_session_id
from vm_agent.domain.web import WEB_SESSION_PREFIX, WebSession, WebSessionTable

STATE_FORMAT = 1

# Why a Client PRONOTE connection was refused: a fixed set, so metrics stay bounded.
REFUSAL_REASONS = (
    "suspended_ip",
    "server_stopped",
    "bad_credentials",
    "mode_not_allowed",
    "licences_exhausted",
)

T = TypeVar("T")


class Isolate(Protocol):
    """Computes `function(*args)`, possibly elsewhere (`vm_agent.isolated`)."""

    def __call__(self, function: Callable[..., T], /, *args: Any) -> T: ...


def _call(function: Callable[..., T], *args: Any) -> T:
    return function(*args)


@dataclass(frozen=True)
class SchoolIdentity:
    uai: str
    name: str
    pronote_version: str = "2026"


@dataclass(frozen=True)
class _Blueprint:
    """What makes a copy of a school server in another process: its settings, the time, how
    it saves and its state."""

    identity: SchoolIdentity
    licence_policy: LicencePolicy
    security_policy: SecurityPolicy
    idle_timeout_seconds: float
    now_seconds: float
    save: Callable[[dict[str, Any]], None]
    state: dict[str, Any]


def _populate_demo_elsewhere(
    blueprint: _Blueprint, arguments: tuple[Any, ...]
) -> tuple[str, dict[str, str], dict[str, Any]]:
    """A copy of the school populated and saved (in a helper process): the new base's id,
    the logins that got passwords, and the state as saved."""
    copy = SchoolServer(
        blueprint.identity,
        blueprint.licence_policy,
        blueprint.security_policy,
        blueprint.idle_timeout_seconds,
        SimulatedClock(blueprint.now_seconds),
        blueprint.save,
        blueprint.state,
    )
    base, logins = copy.populate_demo_here(*arguments)
    return base.id, logins, copy.snapshot()


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
        isolate: Isolate | None = None,
    ) -> None:
        self.identity = identity
        # Generates (part of) the synthetic school to count it or find people, in a helper
        # process in a school server so that its memory stays small; a plain call by default.
        self._isolate: Isolate = isolate or _call
        # The first people of each new base's school, known from its creation (not saved).
        self._sketches: dict[str, synthetic.FirstPeople] = {}
        self._clock = clock
        self._save = save
        self._saves_held = self._save_due = False
        self.sessions = SessionTable(idle_timeout_seconds)
        self.web_sessions = WebSessionTable(idle_timeout_seconds)  # PRONOTE.net, no licence
        self.licence_policy = licence_policy
        self.guard = Guard(security_policy)
        self._load(saved_state or {})
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

    def _load(self, state: dict[str, Any]) -> None:
        """Take `state` (a `snapshot()`, as saved) as this server's, as at its start."""
        if state and state.get("format") != STATE_FORMAT:
            raise InvalidArgument(
                f"saved state has format {state.get('format')!r}, this server reads "
                f"{STATE_FORMAT}; upgrade pronote-dc"
            )
        self.bases: list[Base] = [base_from_dict(b) for b in state.get("bases", [])]
        self._in_service_id: str | None = state.get("in_service")
        self.licence_policy = self.licence_policy.with_reserved(
            state.get("reserved_licences", self.licence_policy.reserved_for_administration)
        )
        suspensions = [Suspension(**s) for s in state.get("suspensions", [])]
        self.guard = Guard(self.guard.policy, suspensions)
        self.publication = Publication.from_dict(state.get("publication", {}))
        self.history = History.from_list(state.get("history", []))
        # school year -> what its version switch did, so a switch asked again (the controller
        # died before recording it) answers the same instead of "kept".
        self._year_switches: dict[str, dict[str, Any]] = dict(state.get("year_switches", {}))

    def _persist(self) -> None:
        if self._saves_held:
            self._save_due = True
        else:
            self._save(self.snapshot())

    @contextlib.contextmanager
    def _one_save(self) -> Iterator[None]:
        """Changes in the block are saved once, at its end (also if it fails half-way: the
        state saved is what was done)."""
        self._saves_held, self._save_due = True, False
        try:
            yield
        finally:
            self._saves_held = False
            if self._save_due:
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
            "history": self.history.to_list(),
            "year_switches": self._year_switches,
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
        self._sketches.clear()
        self.commit(Action.BACKUP_OPENED, f"{len(bases)} base(s) restored")

    def resume_from(self, state: dict[str, Any], detail: str) -> None:
        """Reprise sur sauvegarde: this server lost its data (its host was lost and it came
        back on another, empty) and takes a backup's whole state: bases, the base that was in
        service (in service again), reservations, publication and Historique, which records
        the reprise with `detail`. Only a server holding no base may resume (else: refused)."""
        if self.bases:
            raise WrongState(
                "this server already holds bases: open the backup instead (Ouvrir une sauvegarde)"
            )
        if state.get("format") != STATE_FORMAT:
            raise InvalidArgument(
                f"the backup has state format {state.get('format')!r}, this server reads "
                f"{STATE_FORMAT}; resume it with a matching pronote-dc"
            )
        try:
            bases = [base_from_dict(b) for b in state.get("bases", [])]
            policy = self.licence_policy.with_reserved(int(state.get("reserved_licences", 0)))
            publication = Publication.from_dict(state.get("publication", {}))
            history = History.from_list(state.get("history", []))
        except (KeyError, TypeError, ValueError) as error:
            raise InvalidArgument(f"the backup's state cannot be read ({error})") from None
        in_service = state.get("in_service")
        self.bases = bases
        self._in_service_id = in_service if any(b.id == in_service for b in bases) else None
        self.licence_policy = policy
        self.publication = publication
        self.history = history
        self._sketches.clear()
        self.commit(Action.RESUMED_FROM_BACKUP, detail)

    # -- Serveur PRONOTE panel -------------------------------------------------------------

    def create_base(
        self,
        school_year: str,
        seed: str = "",
        resources: BaseCounters | None = None,
        sample_records: bool = False,
        count_later: bool = False,
    ) -> Base:
        """An empty base, or with `seed` one holding a synthetic school (typical Ressources
        counters for this formula unless `resources` gives them); `sample_records`: a demo
        base, with records per data kind as by the end of a year; `count_later`: its
        Scolarité and Vie scolaire counters are counted by `count_pending` (the next listing),
        not now (a demo school's population: ~15 ms instead of ~0.2 s of CPU, DESIGN 30)."""
        self._require_stopped("create a base")
        if any(b.school_year == school_year for b in self.bases):
            raise AlreadyExists(
                f"a base for {school_year} already exists; open it from the list of bases"
            )
        base = new_base(school_year, self._clock.now())
        if seed:
            capacity = self.licence_policy.enseignant_capacity
            wanted = resources or synthetic.typical_counters(seed, capacity)
            check_resources(wanted, capacity)
            base.seed = seed
            if count_later:  # the Ressources counters are exact by construction
                base.counters, base.counted = resources_only(wanted), False
                sketch = self._isolate(
                    synthetic.first_people, seed, school_year, wanted, list(PersonKind), 1
                )
            else:
                base.counters, sketch = self._isolate(synthetic.survey, seed, school_year, wanted)
            self._sketches[base.id] = sketch
        if sample_records:
            base.records = rentree.sample_records(self.identity.uai, school_year)
        self.bases.append(base)
        self.commit(Action.BASE_CREATED, base.name)
        return base

    def count_pending(self) -> bool:
        """Count the Scolarité and Vie scolaire counters of the synthetic bases created with
        `count_later` (each in the helper, `synthetic.count`), and save them once counted;
        True if there were any."""
        pending = [base for base in self.bases if not base.counted]
        for base in pending:
            counted = self._isolate(
                synthetic.count, base.seed, base.school_year, base.synthetic_resources
            )
            for name in COUNTED_FIELDS:
                setattr(base.counters, name, getattr(counted, name))
            base.counted = True
        if pending:
            self._persist()
        return bool(pending)

    def put_in_service(
        self,
        base_id: str,
        spr_login: str = "",
        spr_password: str = "",
        spr_password_generated: bool = False,
    ) -> Base:
        """Mettre en service; the first time also defines the SPR. Their password is scrypt
        (a person chose it) unless `spr_password_generated`: the data-center drew it (>= 58
        bits, a demo school's), stored with the cheap verifier (DESIGN decision 12)."""
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
                    password_hash=(
                        secrets.hash_secret(spr_password)
                        if spr_password_generated
                        else secrets.hash_password(spr_password)
                    ),
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
        self.commit(Action.PUT_IN_SERVICE, base.name)
        return base

    def stop(self) -> None:
        """Arrêter le serveur: every client is disconnected."""
        if self._in_service_id is None:
            raise WrongState("the server is already stopped")
        stopped = self.base_in_service
        self._in_service_id = None
        self.sessions.clear()
        self.web_sessions.clear()
        self.commit(Action.SERVER_STOPPED, stopped.name if stopped else "")

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

    def issue_password(self, login: str, password: str) -> User:
        """Give a person of the synthetic school in service a password (a new one replaces
        the old), so they can log in to PRONOTE.net."""
        return self.issue_passwords([(login, password)])[0]

    def issue_passwords(self, credentials: list[tuple[str, str]]) -> list[User]:
        """`issue_password` for many people at once; all or nothing."""
        base = self._require_base_in_service("issue passwords")
        for login, password in credentials:
            if not password:
                raise InvalidArgument(f"give {login!r} a password")
        logins = [login for login, _ in credentials]
        sketch = self._sketches.get(base.id)
        people = sketch.find(logins) if sketch else None
        if people is None:
            people = self._isolate(
                synthetic.find_people,
                base.seed,
                base.school_year,
                base.synthetic_resources,
                logins,
            )
        users = []
        for login, password in credentials:
            person = people.get(login)
            if person is None:
                where = "its synthetic school" if base.seed else "no synthetic school"
                raise NotFound(
                    f"nobody has the login {login!r} in {base.name}, which holds {where}; "
                    "check the login (e.g. eleve.dupont.l), or list the school's people"
                )
            existing = base.users.get(login)
            if existing is not None and not existing.synthetic:
                raise AlreadyExists(
                    f"{login!r} is an account added to {base.name}, not a person of its school"
                )
            kind, group = PERSON_USER_KINDS[person.kind]
            hashed = secrets.hash_secret(password)
            users.append(User(login, hashed, person.display_name, kind, group, synthetic=True))
        for user in users:
            base.users[user.login] = user
        self._persist()
        return users

    def populate_demo(
        self,
        school_year: str,
        seed: str,
        spr: tuple[str, str],
        users: list[tuple[str, str, str, UserKind, str]],
        passwords: dict[PersonKind, str],
        child_password: str = "",
        resources: BaseCounters | None = None,
    ) -> tuple[Base, dict[str, str]]:
        """A demo school in one step, saved once: a base of `seed`'s synthetic school with
        sample records, counted later, in service with the SPR (`spr`: login and a generated
        password), the `users` (login, password, display name, kind, group) added, and each
        kind's first person given its password in `passwords` (the first responsable's first
        child `child_password`). Returns the base and, per kind ("eleve": that child), the
        login that got the password. `resources`: as for `create_base`.

        Computed and saved elsewhere (`isolate`: a helper process in a school server), then
        taken here as a start takes a saved state: the population's passing objects and the
        code it runs once write ~1 MiB of pages a school shares with its warm parent, loading
        the result ~0.25 MiB (DESIGN decision 38). Refusals are the same as in place."""
        base_id, logins, state = self._isolate(
            _populate_demo_elsewhere,
            _Blueprint(
                self.identity,
                self.licence_policy,
                self.guard.policy,
                self.sessions.idle_timeout_seconds,
                self._clock.now(),
                self._save,
                self.snapshot(),
            ),
            (school_year, seed, spr, users, passwords, child_password, resources),
        )
        self._load(state)
        self._sketches.clear()
        return find_base(self.bases, base_id), logins

    def populate_demo_here(
        self,
        school_year: str,
        seed: str,
        spr: tuple[str, str],
        users: list[tuple[str, str, str, UserKind, str]],
        passwords: dict[PersonKind, str],
        child_password: str = "",
        resources: BaseCounters | None = None,
    ) -> tuple[Base, dict[str, str]]:
        """`populate_demo` computed in this process (what the helper runs)."""
        with self._one_save():
            base = self.create_base(
                school_year, seed, resources, sample_records=True, count_later=True
            )
            self.put_in_service(base.id, *spr, spr_password_generated=True)
            for login, password, display_name, kind, group in users:
                self.add_user(login, password, display_name, kind, group)
            found = self.people(list(passwords), 1)
            logins = {person.kind.value: person.login for person in found.people}
            credentials = [(person.login, passwords[person.kind]) for person in found.people]
            parent = next((p for p in found.people if isinstance(p, Responsable)), None)
            if child_password and parent is not None and parent.child_ids:
                logins[PersonKind.ELEVE.value] = found.child_logins[parent.child_ids[0]]
                credentials.append((logins[PersonKind.ELEVE.value], child_password))
            self.issue_passwords(credentials)
        return base, logins

    def roster(self) -> SchoolData:
        """The people of the synthetic school in service (generated, not kept)."""
        base = self._require_base_in_service("list its people")
        return synthetic.roster(base.seed, base.school_year, base.synthetic_resources)

    def people(self, kinds: list[PersonKind], limit: int) -> synthetic.FirstPeople:
        """The first people of each kind in the synthetic school in service."""
        base = self._require_base_in_service("list its people")
        sketch = self._sketches.get(base.id)
        known = sketch.only(kinds, limit) if sketch else None
        if known is not None:
            return known
        return self._isolate(
            synthetic.first_people,
            base.seed,
            base.school_year,
            base.synthetic_resources,
            kinds,
            limit,
        )

    def licences(self) -> LicenceUsage:
        self.expire_idle()
        return licences.usage(self.licence_policy, self.sessions, self.web_teachers())

    def web_teachers(self) -> set[str]:
        """Teachers logged in to the Espace Professeurs: each holds a teacher licence."""
        return {s.login for s in self.web_sessions.logged_in() if s.espace is Espace.PROFESSEUR}

    def admit_web_teacher(self, login: str) -> None:
        """LicencesExhausted when a teacher's web login would go over the formula."""
        self.expire_idle()
        teachers = {s.login for s in self.sessions if s.mode is Mode.ENSEIGNANT}
        try:
            licences.check_teacher(self.licence_policy, teachers | self.web_teachers(), login)
        except LicencesExhausted:
            self.refusals["licences_exhausted"] += 1
            raise

    def reserve_licences(self, count: int) -> LicenceUsage:
        self.licence_policy = self.licence_policy.with_reserved(count)
        self._persist()
        return self.licences()

    def connections(self) -> list[Session]:
        self.expire_idle()
        return sorted(self.sessions, key=lambda s: s.connected_at_seconds)

    def disconnect(self, session_id: str) -> Session | WebSession:
        if session_id.startswith(WEB_SESSION_PREFIX):
            return self.web_sessions.remove(session_id)
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

    def change_publication(self, change: Callable[[Publication], None]) -> Publication:
        """Apply a change to PRONOTE.net's settings, then save them (a refused change raises
        before anything is modified, so nothing is saved)."""
        before = self.publication.to_dict()
        change(self.publication)
        self.commit(Action.PUBLICATION_CHANGED, _changes(before, self.publication.to_dict()))
        return self.publication

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
            self.refusals["bad_credentials"] += 1
            self.record_failed_login(source_ip)
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
                self.licence_policy,
                self.sessions,
                mode,
                user.login,
                user.in_administration_group,
                self.web_teachers(),
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

    def record_failed_login(self, source_ip: str) -> None:
        """A bad password, on port 49300 or on PRONOTE.net: both count toward suspension."""
        self.authentication_failures += 1
        if self.guard.record_failure(source_ip, self._clock.now()) is not None:
            self.ip_suspensions += 1
            self._persist()

    def heartbeat(self, session_id: str) -> float:
        """Keep a session alive; returns the seconds left before it would expire."""
        self.expire_idle()
        self.sessions.touch(session_id, self._clock.now())
        return self.sessions.idle_timeout_seconds

    def close(self, session_id: str) -> None:
        self.sessions.remove(session_id)

    def expire_idle(self) -> list[Session]:
        self.web_sessions.expire(self._clock.now())
        return self.sessions.expire(self._clock.now())

    # -- the yearly cycle (vm_agent.domain.rentree) ---------------------------------------

    def start_new_year(
        self, school_year: str, at_seconds: float, keep_in_service: bool = False
    ) -> YearSwitch:
        """The version switch: last year's base in service is replaced by the new year's (an
        empty one, created, unless it exists), its SPR carried over so the school can log in;
        the new year's base in service (or `keep_in_service`) is kept. The same switch asked
        again (same year, same moment) answers what it did then: the controller asks again when
        it died between the switch and its record."""
        done = self._year_switches.get(school_year)
        if done is not None and done.get("at_seconds") == at_seconds:  # the same switch
            base = next((b for b in self.bases if b.id == done["base"]), None)
            return YearSwitch(done["outcome"], base, done["detail"])
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
        detail = f"{current.name} replaced"
        self._year_switches[school_year] = {
            "outcome": "new_base",
            "detail": detail,
            "base": target.id,
            "at_seconds": at_seconds,  # a pre-version and the August switch are two switches
        }
        self._persist()
        return YearSwitch("new_base", target, detail)

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

    def commit(self, action: Action, detail: str) -> None:
        """Record an action in the Historique and save the state with it."""
        self.history.record(self._clock.now(), action, detail)
        self._persist()

    def commit_saved(self) -> None:
        """Save the state after changes recorded in the Historique already."""
        self._persist()

    def now(self) -> float:
        return self._clock.now()

    def require_stopped(self, action: str) -> None:
        self._require_stopped(action)

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


def _changes(before: dict[str, Any], after: dict[str, Any]) -> str:
    """ "published: True -> False; espaces.parent: True -> False" for the Historique."""
    flat_before, flat_after = _flatten(before), _flatten(after)
    return "; ".join(
        f"{key}: {flat_before.get(key)} -> {flat_after.get(key)}"
        for key in sorted(flat_before.keys() | flat_after.keys())
        if flat_before.get(key) != flat_after.get(key)
    )


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and key != "parameters":
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat
