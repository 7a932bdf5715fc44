"""What a function handler gets: the page, its user and the base's school data."""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vm_agent.adapters.pronote_net.envelope import BAD_REQUEST, CallError, PageState
from vm_agent.domain.bases import Base
from vm_agent.domain.pronote_net import PronoteNet
from vm_agent.domain.school_data import Person, Responsable, SchoolData, Student
from vm_agent.domain.web import WebSession


@dataclass
class Call:
    pronote_net: PronoteNet
    session: WebSession
    base: Base
    state: PageState
    payload: dict[str, Any]
    today: datetime.date  # the school's date (Europe/Paris), `now`'s day
    now: datetime.datetime  # the Clock's time on the school's walls (naive, Europe/Paris)
    wrote: bool = False  # the handler changed what must be saved before the answer goes out

    def saved(self) -> None:
        """What the user wrote must be durable before the answer: the app saves the school's
        state once for all the calls of a moment (group commit), then answers them."""
        self.wrote = True

    @property
    def data(self) -> dict[str, Any]:
        value = self.payload.get("data", self.payload.get("donnees", {}))
        return value if isinstance(value, dict) else {}

    @property
    def signature(self) -> dict[str, Any]:
        value = self.payload.get("Signature", self.payload.get("_Signature_", {}))
        return value if isinstance(value, dict) else {}

    @functools.cached_property
    def school(self) -> SchoolData:
        return self.base.data  # generated once per school (cached), looked up once per call

    @property
    def me(self) -> Person | None:
        """The logged-in user's person in the school data (None for an account without one)."""
        return self.school.person(self.session.login) if self.session.login else None

    def student(self) -> Student | None:
        """Whose timetable and grades: the student, or the child a parent chose (membre.N)."""
        me = self.me
        if isinstance(me, Student):
            return me
        if isinstance(me, Responsable):
            member = self.signature.get("membre")
            wanted = member.get("N") if isinstance(member, dict) else None
            child_id = wanted if wanted in me.child_ids else (me.child_ids or ("",))[0]
            if wanted is not None and wanted not in me.child_ids:
                raise CallError(BAD_REQUEST, "Accès refusé", "this child is not yours")
            child = self.school.person_by_id(child_id)
            return child if isinstance(child, Student) else None
        return None


Handler = Callable[[Call], dict[str, Any]]
