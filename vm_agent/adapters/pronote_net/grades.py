"""DernieresNotes (onglet 198): a period's marks and averages as seen on the school's today.

Only the devoirs published by `call.today` are served, and every average is computed from
those (`vm_agent.domain.marks`): a period that has not started has no marks and no averages.
What pronotepy and pawnote read: docs/pronote-net/functions.md, "DernieresNotes".
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

from vm_agent.adapters.pronote_net import formats
from vm_agent.adapters.pronote_net.calls import Call
from vm_agent.adapters.pronote_net.schooling import _colour, _name
from vm_agent.domain import marks
from vm_agent.domain.school_data import Evaluation, Period, SchoolData


def grades(call: Call) -> dict[str, Any]:
    school = call.school
    period_ref = call.data.get("Periode")
    period_id = period_ref.get("N") if isinstance(period_ref, dict) else None
    period = next((p for p in school.periods if p.id == period_id), None)
    student = call.student()
    if period is None or student is None:
        return {"listeDevoirs": formats.wrapped([]), "listeServices": formats.wrapped([])}
    visible = class_evaluations(school, student.class_id, period, call)
    mine = sorted((e for e in visible if student.id in e.marks), key=lambda e: (e.date, e.id))
    subjects = {s.id: s for s in school.subjects}
    by_subject: dict[str, list[Evaluation]] = defaultdict(list)
    for evaluation in mine:
        by_subject[evaluation.subject_id].append(evaluation)
    services = []
    own: list[float | None] = []
    for subject_id, items in by_subject.items():
        theirs = {s for e in items for s in e.marks}
        everyone = [a for s in theirs if (a := marks.subject_average(items, s)) is not None]
        average = marks.subject_average(items, student.id)
        own.append(average)
        services.append(
            {
                "N": subject_id,
                "L": _name(subjects, subject_id),
                "couleur": _colour(subject_id),
                "moyEleve": formats.grade(average),
                "baremeMoyEleve": formats.number(20),
                "baremeMoyEleveParDefault": formats.number(20),
                "baremeMoyEleveParDefaut": formats.number(20),
                "moyClasse": formats.grade(statistics.fmean(everyone) if everyone else None),
                "moyMin": formats.grade(min(everyone) if everyone else None),
                "moyMax": formats.grade(max(everyone) if everyone else None),
            }
        )
    reply: dict[str, Any] = {
        "listeDevoirs": formats.wrapped([_devoir(e, student.id, subjects, period) for e in mine]),
        "listeServices": formats.wrapped(services),
    }
    overall = marks.overall_average(own)
    if overall is not None:
        reply["moyGenerale"] = formats.grade(overall)
        classmates = {s.id for s in school.students if s.class_id == student.class_id}
        overalls = [a for s in classmates if (a := marks.student_overall(visible, s)) is not None]
        reply["moyGeneraleClasse"] = formats.grade(statistics.fmean(overalls))
    return reply


def class_evaluations(
    school: SchoolData, class_id: str, period: Period, call: Call
) -> list[Evaluation]:
    """The class's (and its groups') devoirs of the period published by the school's today."""
    everything = school.class_evaluations(class_id, period.id)
    return marks.visible_on(everything, call.today)


def _devoir(
    evaluation: Evaluation, student_id: str, subjects: dict[str, Any], period: Period
) -> dict[str, Any]:
    stats = marks.devoir_statistics(evaluation)
    return {
        "N": evaluation.id,
        "G": 60,
        "note": formats.mark(evaluation.marks.get(student_id)),
        "bareme": formats.number(evaluation.out_of),
        "baremeParDefaut": formats.number(evaluation.out_of),
        "date": formats.date(evaluation.date),
        "service": formats.wrapped(
            {
                "N": evaluation.subject_id,
                "L": _name(subjects, evaluation.subject_id),
                "couleur": _colour(evaluation.subject_id),
            }
        ),
        "periode": formats.wrapped({"N": period.id, "L": period.name}),
        "moyenne": formats.grade(stats[0] if stats else None),
        "noteMax": formats.grade(stats[1] if stats else None),
        "noteMin": formats.grade(stats[2] if stats else None),
        "coefficient": evaluation.coefficient,
        "commentaire": evaluation.comment,
        "estBonus": evaluation.is_bonus,
        "estFacultatif": evaluation.is_optional,
        "estRamenerSur20": False,
    }
