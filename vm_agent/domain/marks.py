"""Averages as PRONOTE computes them, from the marks visible on a given day.

Rules (PRONOTE's "Calcul des moyennes", as the vendor's help describes them):

- a number counts as `points * 20 / out_of`, weighted by the devoir's coefficient;
- "Absent zéro" and "Non rendu zéro" count as 0 (with the coefficient); Absent, Dispensé,
  Non noté, Inapte and Non rendu are left out;
- an optional mark ("facultative") counts only if it raises the average (best ones first);
- of a bonus mark only the points above 10/20 count, added to the total without weight;
- a subject average is on 20 (capped at 20); the overall average ("moyenne générale") is the
  mean of the subject averages; the class's is the mean of its students' overall averages.

Everything takes the evaluations already filtered to what is visible (`visible_on`).
"""

from __future__ import annotations

import datetime
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from vm_agent.domain.school_data import Evaluation, Mark, MarkKind

ZERO_KINDS = frozenset({MarkKind.ABSENT_ZERO, MarkKind.NON_RENDU_ZERO})


def visible_on(evaluations: Iterable[Evaluation], day: datetime.date) -> list[Evaluation]:
    """The evaluations whose marks families see on `day` (published on or before it)."""
    return [e for e in evaluations if e.visible_from <= day]


def points(mark: Mark | None) -> float | None:
    """What a mark counts for in an average, out of its devoir's barème (None: left out)."""
    if isinstance(mark, MarkKind):
        return 0.0 if mark in ZERO_KINDS else None
    return mark


def subject_average(evaluations: Iterable[Evaluation], student_id: str) -> float | None:
    """The student's average on 20 over these evaluations (None: nothing counts)."""
    total = weights = bonus = 0.0
    optional: list[tuple[float, float]] = []
    for evaluation in evaluations:
        value = points(evaluation.marks.get(student_id))
        if value is None or evaluation.out_of <= 0:
            continue
        on_20 = value * 20 / evaluation.out_of
        if evaluation.is_bonus:
            bonus += max(0.0, on_20 - 10) * evaluation.coefficient
        elif evaluation.is_optional:
            optional.append((on_20, evaluation.coefficient))
        else:
            total += on_20 * evaluation.coefficient
            weights += evaluation.coefficient
    for on_20, coefficient in sorted(optional, reverse=True):
        if not weights or on_20 > total / weights:
            total += on_20 * coefficient
            weights += coefficient
    if not weights:
        return None
    return min(20.0, (total + bonus) / weights)


@dataclass(frozen=True)
class ClassFigures:
    """A class's averages over some evaluations: per subject and student, and each student's
    moyenne générale (students with nothing that counts are left out)."""

    subject_averages: dict[str, dict[str, float]]  # subject id -> student id -> on 20
    overalls: dict[str, float]  # student id -> moyenne générale

    def class_average(self) -> float | None:
        """The class's moyenne générale: the mean of its students' (moyGeneraleClasse)."""
        return statistics.fmean(self.overalls.values()) if self.overalls else None


def class_figures(evaluations: Iterable[Evaluation]) -> ClassFigures:
    """Every average of the students marked in these evaluations (one class, one period)."""
    by_subject: dict[str, list[Evaluation]] = defaultdict(list)
    for evaluation in evaluations:
        by_subject[evaluation.subject_id].append(evaluation)
    averages: dict[str, dict[str, float]] = {}
    per_student: dict[str, list[float]] = defaultdict(list)
    for subject_id, items in by_subject.items():
        students = {s for e in items for s in e.marks}
        found = {s: a for s in students if (a := subject_average(items, s)) is not None}
        averages[subject_id] = found
        for student_id, average in found.items():
            per_student[student_id].append(average)
    overalls = {s: statistics.fmean(values) for s, values in per_student.items()}
    return ClassFigures(averages, overalls)


def devoir_statistics(evaluation: Evaluation) -> tuple[float, float, float] | None:
    """(class average, highest, lowest) of one devoir, in its own barème (None: no mark)."""
    counted = [p for p in map(points, evaluation.marks.values()) if p is not None]
    if not counted:
        return None
    return statistics.fmean(counted), max(counted), min(counted)
