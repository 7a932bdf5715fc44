"""Report cards (onglet 13): `PageBulletins` and `GenerationPDF` (report card, timetable).

pronotepy `Period.report` (dataClasses.py:507-519) reads `ListeServices` and
`ObjetListeAppreciations`, or None when the reply has `Message`; `generate_timetable_pdf`
(clients.py:702-767) joins `url.V` to its root. pawnote `gradebook` (src/api/gradebook.ts,
src/decoders/gradebook.ts) needs `Matiere`, `SurMatiere`, `Coefficient` and the four
averages as text, throws PageUnavailableError on `message`, then calls `gradebookPDF`
(src/api/gradebook-pdf.ts: `genreGenerationPDF` 2). Spec: docs/pronote-net/bulletins.md.
"""

from __future__ import annotations

from typing import Any

from vm_agent.adapters.pronote_net import files, formats
from vm_agent.adapters.pronote_net.calls import Call
from vm_agent.adapters.pronote_net.envelope import BAD_REQUEST, CallError
from vm_agent.domain.bulletins import ReportCard, SubjectReport, report_card
from vm_agent.domain.school_data import Period

NOT_PUBLISHED = "Le bulletin de cette période n'est pas encore disponible."
TIMETABLE, REPORT_CARD = 0, 2  # genreGenerationPDF


def report(call: Call) -> dict[str, Any]:
    card = _card(call, call.data.get("periode"))
    if card is None:
        return {"Message": NOT_PUBLISHED, "message": NOT_PUBLISHED}
    return {
        "ListeServices": formats.wrapped([_subject(s) for s in card.subjects]),
        "ObjetListeAppreciations": formats.wrapped(
            {
                "ListeAppreciations": formats.wrapped(
                    [
                        {
                            "N": "AG",
                            "Intitule": "Appréciation générale",
                            "L": card.general_appreciation,
                        },
                    ]
                )
            }
        ),
        "MoyenneGenerale": _average(card.overall),
        "MoyenneGeneraleClasse": _average(card.class_overall),
        "VieScolaire": {"absences": card.absences, "retards": card.delays},
        "ProfesseurPrincipal": card.head_teacher,
    }


def generate_pdf(call: Call) -> dict[str, Any]:
    kind = call.data.get("genreGenerationPDF")
    if kind == REPORT_CARD:
        card = _card(call, call.data.get("periode"))
        if card is None:
            raise CallError(BAD_REQUEST, "Bulletin indisponible", NOT_PUBLISHED)
        file_id = f"{files.REPORT_CARD}-{card.student.id}-{card.period.id}"
        name = f"Bulletin {card.period.name}.pdf"
    elif kind == TIMETABLE:
        person = call.student() or call.me
        if person is None:
            raise CallError(BAD_REQUEST, "Emploi du temps indisponible", "this account has none")
        weeks = formats.parse_weeks(call.data.get("domaine"))
        week = weeks[0] if weeks and weeks[0] > 0 else call.school.week_of(call.today)
        file_id = f"{files.TIMETABLE}-{person.id}-{week}"
        name = "Emploi du temps.pdf"
    else:
        raise CallError(BAD_REQUEST, "Requête invalide", "genreGenerationPDF: 0 (emploi du temps) "
                        "or 2 (bulletin)")  # fmt: skip
    return {"url": formats.wrapped(files.url(call.state, call.session.number, file_id, name), 23)}


def _card(call: Call, ref: Any) -> ReportCard | None:
    student = call.student()
    period_id = ref.get("N") if isinstance(ref, dict) else None
    period: Period | None = next((p for p in call.school.periods if p.id == period_id), None)
    if student is None or period is None:
        return None
    return report_card(call.school, student, period, call.today)


def _subject(subject: SubjectReport) -> dict[str, Any]:
    return {
        "N": subject.subject_id,
        "L": subject.name,
        "couleur": formats.colour(subject.subject_id),
        "Matiere": formats.wrapped({"N": subject.subject_id, "L": subject.name}),
        "SurMatiere": formats.wrapped(""),
        "Coefficient": formats.wrapped(f"{subject.coefficient:g}"),
        "MoyenneEleve": _average(subject.student),
        "MoyenneClasse": _average(subject.class_average),
        "MoyenneInf": _average(subject.class_min),
        "MoyenneSup": _average(subject.class_max),
        "ListeAppreciations": formats.wrapped(
            [{"N": f"AP-{subject.subject_id}", "L": subject.appreciation}]
        ),
        "ListeProfesseurs": formats.wrapped([{"L": name} for name in subject.teachers]),
    }


def _average(value: float | None) -> dict[str, Any]:
    """ "15,50"; no average (nothing that counts yet) is empty, which pronotepy reads as None
    (`grade_or_none`, dataClasses.py:370-371)."""
    return formats.grade(value) if value is not None else {"_T": 10, "V": ""}
