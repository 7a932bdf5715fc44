"""DernieresNotes (onglet 198): a period's marks and averages as seen on the school's today.

Only the devoirs published by `call.today` are served, and every average is computed from
those (`vm_agent.domain.marks`): a period that has not started has no marks and no averages.
What pronotepy and pawnote read: docs/pronote-net/functions.md, "DernieresNotes".
"""

from __future__ import annotations

import datetime
import statistics
import weakref
from collections import OrderedDict
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
    visible, figures = class_figures(school, student.class_id, period, call.today)
    mine = sorted((e for e in visible if student.id in e.marks), key=lambda e: (e.date, e.id))
    subjects = {s.id: s for s in school.subjects}
    services = []
    for subject_id in dict.fromkeys(e.subject_id for e in mine):
        everyone = list(figures.subject_averages.get(subject_id, {}).values())
        average = figures.subject_averages.get(subject_id, {}).get(student.id)
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
    overall = figures.overalls.get(student.id)
    if overall is not None:
        reply["moyGenerale"] = formats.grade(overall)
        reply["moyGeneraleClasse"] = formats.grade(figures.class_average())
    return reply


_CACHED_CLASSES = 32  # a school's classes for today's period (each ~30 KB)
_figures: OrderedDict[
    tuple[int, str, str, datetime.date],
    tuple[weakref.ref[SchoolData], list[Evaluation], marks.ClassFigures],
] = OrderedDict()


def class_figures(
    school: SchoolData, class_id: str, period: Period, today: datetime.date
) -> tuple[list[Evaluation], marks.ClassFigures]:
    """The class's (and its groups') devoirs of the period published by `today`, and their
    averages; the last few (school, class, period, day) are kept, as a class's students and
    parents read the same figures all evening."""
    key = (id(school), class_id, period.id, today)
    cached = _figures.get(key)
    if cached is not None and cached[0]() is school:
        _figures.move_to_end(key)
        return cached[1], cached[2]
    visible = marks.visible_on(school.class_evaluations(class_id, period.id), today)
    figures = marks.class_figures(visible)
    _figures[key] = (weakref.ref(school), visible, figures)  # never keeps a school alive
    if len(_figures) > _CACHED_CLASSES:
        _figures.popitem(last=False)
    return visible, figures


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
