"""PRONOTE.net on one school's server: which espace page may open, who may log in, the
connection list rows. Protocol details (pages, envelopes, crypto) stay in the adapter.

Security is the server's: a bad web password counts toward the same IP suspension as a bad
password on port 49300 (`SchoolServer.record_failed_login`).
"""

from __future__ import annotations

from dataclasses import dataclass

from common import secrets
from common.clock import Clock
from vm_agent.domain.bases import Base, User
from vm_agent.domain.errors import AgentError, Forbidden
from vm_agent.domain.publication import Espace
from vm_agent.domain.school import SchoolServer
from vm_agent.domain.web import (
    ESPACE_USER_KINDS,
    PRONOTE_NET_SESSION_ID,
    WebSession,
)


class PageUnavailable(AgentError):
    """The espace cannot be used now: not published, publication stopped, no base in service."""


@dataclass(frozen=True)
class WebAccount:
    """A user who may log in to an espace, with what the login challenge needs."""

    user: User
    alea: str
    digest: str  # SHA256(alea + password), upper hex


@dataclass(frozen=True)
class WebConnection:
    """A row of "Suivi des connexions" that PRONOTE.net adds."""

    id: str
    poste: str
    application: str
    user: str
    base_name: str
    source_ip: str
    connected_at_seconds: float
    last_seen_seconds: float


class PronoteNet:
    def __init__(self, school: SchoolServer, clock: Clock) -> None:
        self.school = school
        self._clock = clock

    def now(self) -> float:
        return self._clock.now()

    @property
    def application(self) -> str:
        return f"PRONOTE.net {self.school.identity.pronote_version}"

    def check_open(self, espace: Espace, source_ip: str) -> Base:
        """The base behind an open espace; Forbidden for a suspended IP, PageUnavailable
        when the espace is not published or no base is in service."""
        suspension = self.school.guard.suspension(source_ip, self._clock.now())
        if suspension is not None:
            raise Forbidden(f"Votre adresse IP est provisoirement suspendue ({source_ip})")
        refusal = self.school.publication.refusal(espace)
        if refusal is not None:
            raise PageUnavailable(refusal)
        base = self.school.base_in_service
        if base is None:
            raise PageUnavailable("le serveur est arrêté : aucune base n'est en service")
        return base

    def open_page(self, espace: Espace, source_ip: str) -> WebSession:
        self.check_open(espace, source_ip)  # idle pages go in the server's periodic sweep
        return self.school.web_sessions.open(espace, source_ip, self._clock.now())

    def session(self, number: int, source_ip: str) -> tuple[WebSession, Base]:
        """A call on an open page: NotFound once it expired, or the refusals of check_open."""
        session = self.school.web_sessions.touch(number, self._clock.now())
        return session, self.check_open(session.espace, source_ip)

    def account(self, espace: Espace, login: str) -> WebAccount | None:
        base = self.school.base_in_service
        user = base.users.get(login) if base is not None else None
        if user is None or user.kind is not ESPACE_USER_KINDS.get(espace):
            return None
        verifier = secrets.pronote_net_verifier(user.password_hash)
        if verifier is None:  # a chosen password (the SPR's) is kept as scrypt: no web login
            return None
        return WebAccount(user, *verifier)

    def ent_redirect(self, espace: Espace, service_url: str, direct_asked: bool) -> str | None:
        """The ENT login an espace's page redirects to (302), or None to serve the page: a
        delegated espace redirects unless `?login=true` asks for PRONOTE's own form and
        "Autoriser l'authentification directe" is checked."""
        delegation = self.school.publication.delegation_for(espace)
        if delegation is None or (direct_asked and delegation.allow_direct_authentication):
            return None
        return delegation.login_url(service_url)

    def direct_login_allowed(self, espace: Espace) -> bool:
        """False when the espace's logins are delegated to an ENT without "Autoriser
        l'authentification directe": PRONOTE.net's own form then refuses every login."""
        return self.school.publication.direct_login_allowed(espace)

    def logged_in(self, session: WebSession, user: User) -> None:
        """The page's user is `user`. A page this client left behind by logging in again
        (pronotepy does after any refused call, sending back its identifiantNav) from the
        same address to the same espace and account is closed, so no ghost session stays in
        the console; another browser or app of the same person stays. On the Espace
        Professeurs the teacher takes a teacher licence: LicencesExhausted past the formula."""
        me = (user.login, session.source_ip, session.espace, session.navigator)
        for other in self.school.web_sessions.logged_in():
            same = (other.login, other.source_ip, other.espace, other.navigator)
            if other is not session and session.navigator and same == me:
                self.school.web_sessions.remove(other.id)
        if session.espace is Espace.PROFESSEUR:
            self.school.admit_web_teacher(user.login)
        session.login = user.login
        session.display_name = user.display_name

    def login_failed(self, session: WebSession) -> None:
        self.school.record_failed_login(session.source_ip)

    def connections(self) -> list[WebConnection]:
        """PRONOTE.net as one connection while it publishes a base, then each web user."""
        base = self.school.base_in_service
        if base is None or not self.school.publication.published:
            return []
        self.school.web_sessions.expire(self._clock.now())
        users = self.school.web_sessions.logged_in()
        started = base.created_at_seconds
        rows = [
            WebConnection(
                PRONOTE_NET_SESSION_ID,
                "PRONOTE.net",
                self.application,
                f"{len(users)} utilisateur(s) connecté(s)",
                base.name,
                "",
                started,
                max([started, *(s.last_seen_seconds for s in users)]),
            )
        ]
        rows.extend(
            WebConnection(
                s.id,
                s.source_ip,
                f"{self.application} - {s.espace.label}",
                s.display_name,
                base.name,
                s.source_ip,
                s.created_at_seconds,
                s.last_seen_seconds,
            )
            for s in users
        )
        return rows
