"""PRONOTE.net's rules: who may log in to which espace, web sessions and their expiry.

Web sessions live in their own table, never in the Client PRONOTE sessions: a web user takes
no licence. In "Suivi des connexions" PRONOTE.net itself is one connection (DOMAIN.md), and
each logged-in web user is shown under it, so ops can see (and disconnect) who is in.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from vm_agent.domain.errors import NotFound
from vm_agent.domain.modes import UserKind
from vm_agent.domain.publication import Espace
from vm_agent.domain.sessions import IdleTable

# The espaces PRONOTE.net serves here, their `a` (genre d'espace) on the page and mobile page.
ESPACE_GENRES = {
    Espace.PROFESSEUR: (1, 8),
    Espace.PARENT: (2, 7),
    Espace.ELEVE: (3, 6),
    Espace.VIE_SCOLAIRE: (13, None),
}
# The kind of user each espace admits.
ESPACE_USER_KINDS = {
    Espace.PROFESSEUR: UserKind.PROFESSEUR,
    Espace.PARENT: UserKind.RESPONSABLE,
    Espace.ELEVE: UserKind.ELEVE,
    Espace.VIE_SCOLAIRE: UserKind.PERSONNEL,
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
    navigator: str = ""  # identifiantNav: one browser or app, sent back when it logs in again

    @property
    def id(self) -> str:
        return f"{WEB_SESSION_PREFIX}{self.number}"


class WebSessionTable(IdleTable[int, WebSession]):
    """Open espace pages, by their number."""

    def __init__(self, idle_timeout_seconds: float) -> None:
        super().__init__(idle_timeout_seconds, key=lambda session: session.number)

    def open(self, espace: Espace, source_ip: str, now_seconds: float) -> WebSession:
        number = secrets.randbelow(9 * 10**8) + 10**8
        while number in self._entries:
            number = secrets.randbelow(9 * 10**8) + 10**8
        session = WebSession(number, espace, source_ip, now_seconds, now_seconds)
        self._entries[number] = session
        self._added()
        return session

    def touch(self, number: int, now_seconds: float) -> WebSession:
        """The session, kept alive; NotFound when it expired or never existed."""
        session = self._entries.get(number)
        if session is None or self.is_idle(session, now_seconds):
            self._entries.pop(number, None)
            raise NotFound("this PRONOTE.net page has expired; load the espace page again")
        session.last_seen_seconds = now_seconds
        return session

    def remove(self, session_id: str) -> WebSession:
        number = session_id.removeprefix(WEB_SESSION_PREFIX)
        session = self._entries.pop(int(number), None) if number.isdigit() else None
        if session is None:
            raise NotFound(f"no web session {session_id!r}: it expired or was disconnected")
        return session

    def logged_in(self) -> list[WebSession]:
        return sorted(
            (s for s in self._entries.values() if s.login), key=lambda s: s.created_at_seconds
        )
