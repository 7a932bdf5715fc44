"""Évaluations de compétences: a devoir assessed by levels of mastery instead of a mark.

A collège assesses the items of each subject's domains against the socle commun's
components (D1.1 … D5, the "piliers"), at four levels (PRONOTE's default "niveaux de
maîtrise": A+, A, C, E). The synthetic school makes them (`synthetic_competences`);
PRONOTE.net serves them in DernieresEvaluations (onglet 201).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass


@dataclass(frozen=True)
class Level:
    id: str
    abbreviation: str  # "A+"
    label: str  # "Très bonne maîtrise"
    rank: int  # 1 is the best


LEVELS = (
    Level("NA1", "A+", "Très bonne maîtrise", 1),
    Level("NA2", "A", "Maîtrise satisfaisante", 2),
    Level("NA3", "C", "Maîtrise fragile", 3),
    Level("NA4", "E", "Maîtrise insuffisante", 4),
)
NOT_ASSESSED = 255  # in `CompetenceEvaluation.levels`: the student was not assessed


@dataclass(frozen=True)
class Pillar:
    """A component of the socle commun ("pilier" in PRONOTE.net)."""

    id: str
    prefix: str  # "D1.3"
    label: str


@dataclass(frozen=True)
class Item:
    """A competence: an item of a subject's domain, attached to a socle component."""

    id: str
    domain_id: str
    domain: str  # "Chercher"
    label: str  # "Extraire d'un document les informations utiles"
    pillar: Pillar


@dataclass(frozen=True)
class CompetenceEvaluation:
    """One assessed devoir: `levels` holds one byte per (student, item), row by student in
    `student_ids` order: an index into LEVELS, or NOT_ASSESSED (absent)."""

    id: str
    name: str
    subject_id: str
    class_id: str
    period_id: str
    teacher_id: str
    date: datetime.date
    description: str
    cycle: str  # "Cycle 3", "Cycle 4" (the palier)
    items: tuple[Item, ...]
    student_ids: tuple[str, ...]  # the class's, shared between its evaluations
    levels: bytes
    coefficient: int = 1

    def levels_of(self, student_id: str) -> tuple[Level | None, ...] | None:
        """The student's level per item (None: not assessed); None if not in the class."""
        try:
            row = self.student_ids.index(student_id)
        except ValueError:
            return None
        width = len(self.items)
        cells = self.levels[row * width : (row + 1) * width]
        return tuple(None if cell == NOT_ASSESSED else LEVELS[cell] for cell in cells)
