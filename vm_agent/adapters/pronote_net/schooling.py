"""Timetable (onglet 16) and homework (88, 89), read from the base's school data (spec §5.1-5.2;
grades, onglet 198, are in `grades`)."""

from __future__ import annotations

import datetime
from typing import Any

from vm_agent.adapters.pronote_net import formats
from vm_agent.adapters.pronote_net.calls import Call
from vm_agent.domain.school_data import Lesson, SchoolData, Teacher

WEEK = datetime.timedelta(days=7)
COLOURS = ["#3C8DBC", "#F39C12", "#00A65A", "#DD4B39", "#605CA8", "#D81B60", "#39CCCC"]


def timetable(call: Call) -> dict[str, Any]:
    """One week (numeroSemaine) or the weeks of dateDebut..dateFin, as the clients ask."""
    school, data = call.school, call.data
    week = data.get("numeroSemaine", data.get("NumeroSemaine"))
    if isinstance(week, int) and 1 <= week <= 60:
        start = school.first_monday + (week - 1) * WEEK
        end = start + WEEK
    else:
        start = formats.parse_date(data.get("dateDebut", data.get("DateDebut"))) or call.today
        end_day = formats.parse_date(data.get("dateFin", data.get("DateFin")))
        end = min(
            end_day + datetime.timedelta(days=1) if end_day else start + WEEK, start + 8 * WEEK
        )
    person = call.student() or call.me
    lessons = school.lessons(person.id, start, end) if person else []
    return {"ListeCours": [_lesson(school, lesson) for lesson in lessons], "avecCoursAnnule": True}


def homework(call: Call) -> dict[str, Any]:
    school = call.school
    weeks = formats.parse_weeks(call.data.get("domaine"))
    student = call.student()
    if not weeks or student is None or call.signature.get("onglet") == 89:
        return {
            "ListeTravauxAFaire": formats.wrapped([]),
            "ListeCahierDeTextes": formats.wrapped([]),
        }
    start = school.first_monday + (weeks[0] - 1) * WEEK
    end = school.first_monday + weeks[-1] * WEEK
    items = [  # given by the school's today: homework shows from the lesson it is given at
        h
        for h in school.homework_for(student.id, start, end)
        if school.week_of(h.due_on) in weeks and h.given_on <= call.today
    ]
    subjects = {s.id: s for s in school.subjects}
    return {
        "ListeTravauxAFaire": formats.wrapped(
            [
                {
                    "N": item.id,
                    "descriptif": formats.wrapped(f"<div>{_escape(item.description)}</div>", 21),
                    "TAFFait": call.base.activity.is_done(student.id, item.id),
                    "Matiere": formats.wrapped(
                        {
                            "N": item.subject_id,
                            "L": _name(subjects, item.subject_id),
                            "estServiceGroupe": False,
                        }
                    ),
                    "PourLe": formats.date(item.due_on),
                    "DonneLe": formats.date(item.given_on),
                    "CouleurFond": _colour(item.subject_id),
                    "ListePieceJointe": formats.wrapped([]),
                    "ListeThemes": formats.wrapped([]),
                    "niveauDifficulte": 0,
                    "duree": 0,
                }
                for item in items
            ]
        )
    }


def _lesson(school: SchoolData, lesson: Lesson) -> dict[str, Any]:
    subjects = {s.id: s for s in school.subjects}
    contents = [formats.entity(lesson.subject_id, _name(subjects, lesson.subject_id), 16)]
    teacher = school.person_by_id(lesson.teacher_id)
    if isinstance(teacher, Teacher):
        contents.append(formats.entity(teacher.id, teacher.display_name, 3))
    room = next((r for r in school.rooms if r.id == lesson.room_id), None)
    if room is not None:
        contents.append(formats.entity(room.id, room.name, 17))
    group = next((g for g in school.groups if g.id == lesson.group_id), None)
    klass = next((c for c in school.classes if c.id == lesson.class_id), None)
    if group is not None:
        contents.append(formats.entity(group.id, group.name, 2))
    elif klass is not None:
        contents.append(formats.entity(klass.id, klass.name, 1))
    item: dict[str, Any] = {
        "N": lesson.id,
        "G": 0,
        "P": 1,
        "place": 0,
        "duree": 1,
        "DateDuCours": formats.moment(lesson.start),
        "DateDuCoursFin": formats.moment(lesson.end),
        "CouleurFond": _colour(lesson.subject_id),
        "ListeContenus": formats.wrapped(contents),
    }
    if lesson.status:
        item["Statut"] = lesson.status
    if lesson.cancelled:
        item["estAnnule"] = True
    return item


def _name(subjects: dict[str, Any], subject_id: str) -> str:
    subject = subjects.get(subject_id)
    return str(subject.name) if subject is not None else subject_id


def _colour(key: str) -> str:
    return COLOURS[sum(key.encode()) % len(COLOURS)]


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
