"""Holds the school server once its state is loaded; until then calls get UNAVAILABLE."""

from __future__ import annotations

from vm_agent.domain.errors import AgentError
from vm_agent.domain.school import SchoolServer


class NotReady(AgentError):
    pass


class SchoolSlot:
    def __init__(self) -> None:
        self._school: SchoolServer | None = None

    @property
    def school(self) -> SchoolServer:
        if self._school is None:
            raise NotReady("the school server is still loading its state; retry in a moment")
        return self._school

    def fill(self, school: SchoolServer) -> None:
        self._school = school
