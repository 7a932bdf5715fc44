"""DernieresEvaluations (onglet 201): a period's évaluations de compétences of the student, those
held by the school's today, with the student's level on each item.

pronotepy dataClasses.py:586-594 (`Period.evaluations`), 1612-1690 (`Acquisition`,
`Evaluation`); pawnote src/api/evaluations.ts, src/decoders/evaluation.ts and skill.ts.
What each reads: docs/pronote-net/functions.md, "DernieresEvaluations".
"""

from __future__ import annotations

from typing import Any

from vm_agent.adapters.pronote_net import formats
from vm_agent.adapters.pronote_net.calls import Call
from vm_agent.domain.competences import CompetenceEvaluation, Level
from vm_agent.domain.school_data import Person

NOT_ASSESSED_LABEL = "Absent"  # PRONOTE's level for a student not assessed ("Abs")


def evaluations(call: Call) -> dict[str, Any]:
    period_ref = call.data.get("periode")
    period_id = period_ref.get("N") if isinstance(period_ref, dict) else None
    student = call.student()
    rows = []
    if student is not None:
        school = call.school
        subjects = {s.id: s.name for s in school.subjects}
        for evaluation in school.competences:
            if evaluation.period_id != period_id or evaluation.date > call.today:
                continue
            levels = evaluation.levels_of(student.id)
            if levels is None:
                continue
            teacher = school.person_by_id(evaluation.teacher_id)
            rows.append(_evaluation(evaluation, levels, subjects, teacher))
    return {"listeEvaluations": formats.wrapped(rows)}


def _evaluation(
    evaluation: CompetenceEvaluation,
    levels: tuple[Level | None, ...],
    subjects: dict[str, str],
    teacher: Person | None,
) -> dict[str, Any]:
    return {
        "N": evaluation.id,
        "G": 29,  # Evaluation (pawnote src/models/entity-kind.ts)
        "L": evaluation.name,
        "date": formats.date(evaluation.date),
        "coefficient": evaluation.coefficient,
        "descriptif": evaluation.description,
        "individu": formats.wrapped(
            {"N": evaluation.teacher_id, "L": teacher.display_name if teacher else "", "G": 3}
        ),
        "matiere": formats.wrapped(
            {"N": evaluation.subject_id, "L": subjects.get(evaluation.subject_id, "")}
        ),
        "listePaliers": formats.wrapped([{"N": f"PA-{evaluation.cycle}", "L": evaluation.cycle}]),
        "listeNiveauxDAcquisitions": formats.wrapped(
            [
                {
                    "N": f"{evaluation.id}-{order + 1}",
                    "L": level.label if level is not None else NOT_ASSESSED_LABEL,
                    "abbreviation": level.abbreviation if level is not None else "Abs",
                    "ordre": order + 1,
                    "coefficient": 1,
                    "domaine": formats.wrapped({"N": item.domain_id, "L": item.domain}),
                    "item": formats.wrapped({"N": item.id, "L": item.label}),
                    "pilier": formats.wrapped(
                        {
                            "N": item.pillar.id,
                            "L": item.pillar.label,
                            "strPrefixes": item.pillar.prefix,
                        }
                    ),
                }
                for order, (item, level) in enumerate(zip(evaluation.items, levels, strict=True))
            ]
        ),
    }
