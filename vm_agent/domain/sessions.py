"""Client PRONOTE sessions: opened on login, kept alive by heartbeats, expired when idle."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

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


class _Seen(Protocol):
    last_seen_seconds: float


Key = TypeVar("Key")
Entry = TypeVar("Entry", bound=_Seen)


class IdleTable(Generic[Key, Entry]):
    """Live entries keyed by `key`; one idle for `idle_timeout_seconds` has expired. The
    Client PRONOTE sessions and PRONOTE.net's pages both follow this one rule."""

    def __init__(self, idle_timeout_seconds: float, key: Callable[[Entry], Key]) -> None:
        self.idle_timeout_seconds = idle_timeout_seconds
        self._key = key
        self._entries: dict[Key, Entry] = {}
        # Called after an entry is added: whoever expires them learns a deadline came.
        self.on_added: Callable[[], None] | None = None

    def __iter__(self) -> Iterator[Entry]:
        return iter(list(self._entries.values()))

    def __len__(self) -> int:
        return len(self._entries)

    def is_idle(self, entry: Entry, now_seconds: float) -> bool:
        return entry.last_seen_seconds <= now_seconds - self.idle_timeout_seconds

    def next_expiry(self) -> float | None:
        """When the first entry expires if nobody uses it (seconds, the clock's); None if empty."""
        if not self._entries:
            return None
        return min(e.last_seen_seconds for e in self._entries.values()) + self.idle_timeout_seconds

    def _added(self) -> None:
        if self.on_added is not None:
            self.on_added()

    def clear(self) -> int:
        count = len(self._entries)
        self._entries.clear()
        return count

    def expire(self, now_seconds: float) -> list[Entry]:
        expired = [e for e in self._entries.values() if self.is_idle(e, now_seconds)]
        for entry in expired:
            del self._entries[self._key(entry)]
        return expired


class SessionTable(IdleTable[str, Session]):
    """Live Client PRONOTE sessions of one server."""

    def __init__(self, idle_timeout_seconds: float) -> None:
        super().__init__(idle_timeout_seconds, key=lambda session: session.id)

    def add(self, session: Session) -> None:
        self._entries[session.id] = session
        self._added()

    def touch(self, session_id: str, now_seconds: float) -> Session:
        session = self.get(session_id)
        session.last_seen_seconds = now_seconds
        return session

    def get(self, session_id: str) -> Session:
        try:
            return self._entries[session_id]
        except KeyError:
            raise NotFound(
                "no such session: it expired, was disconnected, or the server restarted; "
                "connect again"
            ) from None

    def remove(self, session_id: str) -> Session:
        session = self.get(session_id)
        del self._entries[session_id]
        return session


def new_session_id() -> str:
    return secrets.token_urlsafe(18)
