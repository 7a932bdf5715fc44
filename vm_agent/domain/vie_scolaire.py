"""Vie scolaire: what the CPE's office records about a student through the year.

Absences (by demi-journée, with a reason, justified or not), retards, punitions (given by a
teacher during a lesson: retenue, devoir supplémentaire, exclusion de cours) and sanctions
(decided by the head: avertissement, blâme, mesure de responsabilisation, exclusion
temporaire). Plain frozen dataclasses; the synthetic school makes them
(`synthetic_vie_scolaire`), PRONOTE.net serves them in PagePresence (onglet 19).
"""

from __future__ import annotations

import datetime
import functools
from collections import defaultdict
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Absence:
    id: str
    student_id: str
    start: datetime.datetime
    end: datetime.datetime
    half_days: int  # demi-journées missed (a morning or an afternoon is one)
    minutes: int  # class time missed
    reason: str  # "Maladie"…; "" while the reason is not known yet
    justified: bool


@dataclass(frozen=True, slots=True)
class Delay:
    id: str
    student_id: str
    at: datetime.datetime  # the start of the lesson the student was late for
    minutes: int
    reason: str  # "" while the reason is not known yet
    justified: bool


@dataclass(frozen=True, slots=True)
class Punishment:
    """A punition given by a teacher during a lesson, or a sanction decided by the head."""

    id: str
    student_id: str
    given_at: datetime.datetime  # the lesson's start (punition) or the decision day (sanction)
    nature: str  # "Retenue", "Avertissement"…
    reason: str  # "Travail non fait"…
    circumstances: str
    giver_id: str  # a Person id: the teacher, or the chef d'établissement
    giver_name: str
    is_sanction: bool = False
    is_exclusion: bool = False
    duration_minutes: int = 0  # a retenue's length, 0 otherwise
    scheduled_on: datetime.date | None = None  # when a retenue is served
    work: str = ""  # the devoir supplémentaire's text


@dataclass(frozen=True)
class VieScolaire:
    absences: tuple[Absence, ...] = ()
    delays: tuple[Delay, ...] = ()
    punishments: tuple[Punishment, ...] = ()  # punitions and sanctions, by date

    @property
    def punitions(self) -> int:
        return sum(1 for p in self.punishments if not p.is_sanction)

    @property
    def sanctions(self) -> int:
        return sum(1 for p in self.punishments if p.is_sanction)

    def of(self, student_id: str) -> tuple[list[Absence], list[Delay], list[Punishment]]:
        """A student's absences, delays, punitions and sanctions, in date order."""
        absences, delays, punishments = self._by_student.get(student_id, ([], [], []))
        return absences, delays, punishments

    @functools.cached_property
    def _by_student(self) -> dict[str, tuple[list[Absence], list[Delay], list[Punishment]]]:
        index: dict[str, tuple[list[Absence], list[Delay], list[Punishment]]] = defaultdict(
            lambda: ([], [], [])
        )
        for absence in self.absences:
            index[absence.student_id][0].append(absence)
        for delay in self.delays:
            index[delay.student_id][1].append(delay)
        for punishment in self.punishments:
            index[punishment.student_id][2].append(punishment)
        return dict(index)
