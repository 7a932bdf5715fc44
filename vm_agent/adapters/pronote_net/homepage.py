"""PageAccueil, onglet 7 (docs/pronote-net/homepage.md): the home page of an espace, from the
same data as the other calls: the day's lessons (`dateGrille`), the latest marks, homework
due, unread discussions and news, and vie scolaire notices (absences at evaluations, lessons
not held). pawnote's `homepage` (src/api/homepage.ts, src/decoders/homepage.ts:6-33) reads
`lienUtile.listeLiens.V`; the rest follows PRONOTE's block names."""

from __future__ import annotations

import datetime
from typing import Any

from vm_agent.adapters.pronote_net import formats
from vm_agent.adapters.pronote_net.calls import Call
from vm_agent.domain.messaging import Mailbox
from vm_agent.domain.school_data import MarkKind, Student

LATEST_MARKS = 5
HOMEWORK_DAYS = 7


def page(call: Call) -> dict[str, Any]:
    school, me = call.school, call.me
    day = formats.parse_date(call.data.get("dateGrille")) or call.today
    student = call.student()
    person = student or me
    lessons = school.lessons(person.id, day, day + datetime.timedelta(days=1)) if person else []
    subjects = {s.id: s.name for s in school.subjects}
    reply: dict[str, Any] = {
        "lienUtile": {"listeLiens": formats.wrapped([])},
        "EDT": {
            "listeCours": formats.wrapped(
                [
                    {
                        "N": lesson.id,
                        "DateDuCours": formats.moment(lesson.start),
                        "DateDuCoursFin": formats.moment(lesson.end),
                        "matiere": formats.wrapped({"L": subjects.get(lesson.subject_id, "")}),
                        "estAnnule": lesson.cancelled,
                        "Statut": lesson.status,
                    }
                    for lesson in lessons
                ]
            )
        },
        "coursNonAssures": {
            "listeCoursNonAssures": formats.wrapped(
                [
                    {"N": lesson.id, "Statut": lesson.status}
                    for lesson in lessons
                    if lesson.cancelled
                ]
            )
        },
    }
    if isinstance(student, Student):
        reply.update(_student_blocks(call, student, day, subjects))
    if me is not None:
        threads = Mailbox(school, call.base.activity, me, now=call.now).threads(only_unread=True)
        news = [
            n
            for n in school.news_for(me)
            if n.created_at <= call.now and not call.base.activity.has_read(me.id, n.id)
        ]
        reply["messagerie"] = {"nbMessagesNonLus": sum(t.unread for t in threads),
                               "nbDiscussionsNonLues": len(threads)}  # fmt: skip
        reply["actualites"] = {
            "listeActualites": formats.wrapped(
                [{"N": n.id, "L": n.title, "estSondage": n.is_survey} for n in news]
            )
        }
    return reply


def _student_blocks(
    call: Call, student: Student, day: datetime.date, subjects: dict[str, str]
) -> dict[str, Any]:
    school, activity = call.school, call.base.activity
    due = school.homework_for(student.id, day, day + datetime.timedelta(days=HOMEWORK_DAYS))
    evaluations = [  # the marks the family sees by then (from the teacher's publication)
        e
        for e in school.evaluations
        if e.class_id == student.class_id and student.id in e.marks and e.visible_from <= day
    ]
    latest = sorted(evaluations, key=lambda e: e.date, reverse=True)[:LATEST_MARKS]
    absent = [
        e for e in evaluations if e.marks.get(student.id) in (MarkKind.ABSENT, MarkKind.ABSENT_ZERO)
    ]
    return {
        "travailAFaire": {
            "listeTAF": formats.wrapped(
                [
                    {
                        "N": h.id,
                        "matiere": formats.wrapped({"L": subjects.get(h.subject_id, "")}),
                        "pourLe": formats.date(h.due_on),
                        "TAFFait": activity.is_done(student.id, h.id),
                    }
                    for h in due
                ]
            )
        },
        "dernieresNotes": {
            "listeDevoirs": formats.wrapped(
                [
                    {
                        "N": e.id,
                        "date": formats.date(e.date),
                        "service": formats.wrapped({"L": subjects.get(e.subject_id, "")}),
                        "note": formats.mark(e.marks.get(student.id)),
                        "bareme": formats.number(e.out_of),
                    }
                    for e in latest
                ]
            )
        },
        "vieScolaire": {
            "listeAbsences": formats.wrapped(
                [{"N": f"ABS-{e.id}", "date": formats.date(e.date)} for e in absent]
            )
        },
    }
