"""PRONOTE.net's rules: who may log in to which espace, web sessions and their expiry.

Web sessions live in their own table, never in the Client PRONOTE sessions: a web user takes
no licence. In "Suivi des connexions" PRONOTE.net itself is one connection (DOMAIN.md), and
each logged-in web user is shown under it, so ops can see (and disconnect) who is in.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

from vm_agent.domain.errors import NotFound
from vm_agent.domain.publication import Espace

# The espaces PRONOTE.net serves here, their `a` (genre d'espace) on the page and mobile page.
ESPACE_GENRES = {
    Espace.PROFESSEUR: (1, 8),
    Espace.PARENT: (2, 7),
    Espace.ELEVE: (3, 6),
    Espace.VIE_SCOLAIRE: (13, None),
}
ESPACE_LABELS = {
    Espace.PROFESSEUR: "Espace Professeurs",
    Espace.PARENT: "Espace Parents",
    Espace.ELEVE: "Espace Élèves",
    Espace.VIE_SCOLAIRE: "Espace Vie scolaire",
}
# The kind of user (UserKind value) each espace admits.
ESPACE_USER_KINDS = {
    Espace.PROFESSEUR: "professeur",
    Espace.PARENT: "responsable",
    Espace.ELEVE: "eleve",
    Espace.VIE_SCOLAIRE: "personnel",
}
PRONOTE_NET_SESSION_ID = "pronote-net"  # the one connection of PRONOTE.net itself
WEB_SESSION_PREFIX = "web-"


@dataclass
class WebSession:
    """One visit of an espace page; `login` is set once the user has authenticated."""

    number: int  # the `h` of the page: digits, no leading zero
    espace: Espace
    source_ip: str
    created_at_seconds: float
    last_seen_seconds: float
    login: str = ""
    display_name: str = ""

    @property
    def id(self) -> str:
        return f"{WEB_SESSION_PREFIX}{self.number}"


class WebSessionTable:
    """Open espace pages; any of them idle for `idle_timeout_seconds` expires."""

    def __init__(self, idle_timeout_seconds: float) -> None:
        self.idle_timeout_seconds = idle_timeout_seconds
        self._sessions: dict[int, WebSession] = {}

    def __iter__(self) -> Iterator[WebSession]:
        return iter(list(self._sessions.values()))

    def __len__(self) -> int:
        return len(self._sessions)

    def open(self, espace: Espace, source_ip: str, now_seconds: float) -> WebSession:
        number = secrets.randbelow(9 * 10**8) + 10**8
        while number in self._sessions:
            number = secrets.randbelow(9 * 10**8) + 10**8
        session = WebSession(number, espace, source_ip, now_seconds, now_seconds)
        self._sessions[number] = session
        return session

    def touch(self, number: int, now_seconds: float) -> WebSession:
        """The session, kept alive; NotFound when it expired or never existed."""
        session = self._sessions.get(number)
        if session is None or session.last_seen_seconds <= now_seconds - self.idle_timeout_seconds:
            self._sessions.pop(number, None)
            raise NotFound("this PRONOTE.net page has expired; load the espace page again")
        session.last_seen_seconds = now_seconds
        return session

    def remove(self, session_id: str) -> WebSession:
        number = session_id.removeprefix(WEB_SESSION_PREFIX)
        session = self._sessions.pop(int(number), None) if number.isdigit() else None
        if session is None:
            raise NotFound(f"no web session {session_id!r}: it expired or was disconnected")
        return session

    def expire(self, now_seconds: float) -> list[WebSession]:
        deadline = now_seconds - self.idle_timeout_seconds
        expired = [s for s in self._sessions.values() if s.last_seen_seconds <= deadline]
        for session in expired:
            del self._sessions[session.number]
        return expired

    def clear(self) -> None:
        self._sessions.clear()

    def logged_in(self) -> list[WebSession]:
        return sorted(
            (s for s in self._sessions.values() if s.login), key=lambda s: s.created_at_seconds
        )
