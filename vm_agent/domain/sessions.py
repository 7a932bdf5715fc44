"""Client PRONOTE sessions: opened on login, kept alive by heartbeats, expired when idle."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

from vm_agent.domain.errors import NotFound
from vm_agent.domain.modes import Mode


@dataclass
class Session:
    id: str
    login: str
    display_name: str
    mode: Mode
    in_administration_group: bool
    source_ip: str
    poste: str
    application: str
    base_name: str
    connected_at_seconds: float
    last_seen_seconds: float

    @property
    def state(self) -> str:
        return "Connecté en modification" if self.mode.modifies else "Connecté"


class SessionTable:
    """Live sessions of one server; idle ones expire after `idle_timeout_seconds`."""

    def __init__(self, idle_timeout_seconds: float) -> None:
        self.idle_timeout_seconds = idle_timeout_seconds
        self._sessions: dict[str, Session] = {}

    def __iter__(self) -> Iterator[Session]:
        return iter(list(self._sessions.values()))

    def __len__(self) -> int:
        return len(self._sessions)

    def add(self, session: Session) -> None:
        self._sessions[session.id] = session

    def touch(self, session_id: str, now_seconds: float) -> Session:
        session = self.get(session_id)
        session.last_seen_seconds = now_seconds
        return session

    def get(self, session_id: str) -> Session:
        try:
            return self._sessions[session_id]
        except KeyError:
            raise NotFound(
                "no such session: it expired, was disconnected, or the server restarted; "
                "connect again"
            ) from None

    def remove(self, session_id: str) -> Session:
        session = self.get(session_id)
        del self._sessions[session_id]
        return session

    def clear(self) -> int:
        count = len(self._sessions)
        self._sessions.clear()
        return count

    def expire(self, now_seconds: float) -> list[Session]:
        deadline = now_seconds - self.idle_timeout_seconds
        expired = [s for s in self._sessions.values() if s.last_seen_seconds <= deadline]
        for session in expired:
            del self._sessions[session.id]
        return expired


def new_session_id() -> str:
    return secrets.token_urlsafe(18)
