"""The "Historique" tab: what happened on the server, dated by the injected Clock, saved with
the school's state and bounded (the oldest entries go first)."""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

HISTORY_LIMIT = 500


class Action(enum.Enum):
    BASE_CREATED = "base_created"
    BASE_LOADED = "base_loaded"
    BASE_COMPLETED = "base_completed"
    USERS_RECOVERED = "users_recovered"
    BASE_INITIALISED_FROM_EDT = "base_initialised_from_edt"
    PUT_IN_SERVICE = "put_in_service"
    BASE_OPENED = "base_opened"
    SERVER_STOPPED = "server_stopped"
    BACKUP_OPENED = "backup_opened"
    PUBLICATION_CHANGED = "publication_changed"
    RESUMED_FROM_BACKUP = "resumed_from_backup"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Action.BASE_CREATED: "Création d'une base",
    Action.BASE_LOADED: "Chargement d'une base",
    Action.BASE_COMPLETED: "Base hébergée complétée",
    Action.USERS_RECOVERED: "Récupération des utilisateurs",
    Action.BASE_INITIALISED_FROM_EDT: "Initialisation depuis EDT",
    Action.PUT_IN_SERVICE: "Mise en service",
    Action.BASE_OPENED: "Ouverture d'une base",
    Action.SERVER_STOPPED: "Arrêt du serveur",
    Action.BACKUP_OPENED: "Ouverture d'une sauvegarde",
    Action.PUBLICATION_CHANGED: "Paramètres de publication modifiés",
    Action.RESUMED_FROM_BACKUP: "Reprise sur sauvegarde",
}


@dataclass(frozen=True)
class Entry:
    at_seconds: float
    action: Action
    detail: str


class History:
    def __init__(self, entries: list[Entry] | None = None, limit: int = HISTORY_LIMIT) -> None:
        self._entries: deque[Entry] = deque(entries or [], maxlen=limit)

    @property
    def limit(self) -> int:
        return self._entries.maxlen or HISTORY_LIMIT

    def record(self, at_seconds: float, action: Action, detail: str) -> None:
        self._entries.append(Entry(at_seconds, action, detail))

    def entries(self) -> list[Entry]:
        """Oldest first."""
        return list(self._entries)

    def to_list(self) -> list[dict[str, Any]]:
        return [{**asdict(e), "action": e.action.value} for e in self._entries]

    @classmethod
    def from_list(cls, data: list[dict[str, Any]]) -> History:
        entries = []
        for item in data:
            try:
                action = Action(item["action"])
            except (KeyError, ValueError):
                continue  # an action a newer version knew: not worth refusing the state
            entries.append(Entry(float(item["at_seconds"]), action, str(item.get("detail", ""))))
        return cls(entries)
