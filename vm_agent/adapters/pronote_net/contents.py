"""The cahier de textes' contents (onglet 89): `PageCahierDeTexte` for a week's lessons
(pronotepy `Lesson.content`), `donneesContenusCDT` for one entry (pawnote `resource`), the
attachments' JSON and the timetable's link to an entry. Spec: docs/pronote-net/contents.md."""

from __future__ import annotations

import datetime
import html
from typing import Any

from vm_agent.adapters.pronote_net import formats
from vm_agent.adapters.pronote_net.calls import Call
from vm_agent.adapters.pronote_net.envelope import BAD_REQUEST, CallError
from vm_agent.domain.school_data import Lesson, SchoolData, Teacher
from vm_agent.domain.synthetic_contents import (
    Attachment,
    LessonContent,
    content_of,
    lesson_key,
)

WEEK = datetime.timedelta(days=7)
ONGLET = 89


def cahier_de_texte(call: Call) -> dict[str, Any]:
    """onglet 89: the week's past lessons with their contents."""
    school = call.school
    weeks = formats.parse_weeks(call.data.get("domaine"))
    student = call.student()
    person = student or call.me
    entries = []
    if weeks and person is not None:
        start = school.first_monday + (weeks[0] - 1) * WEEK
        end = min(school.first_monday + weeks[-1] * WEEK, call.today + datetime.timedelta(days=1))
        for lesson in school.lessons(person.id, start, end):
            if school.week_of(lesson.start.date()) in weeks:
                entry = _entry(call, lesson)
                if entry is not None:
                    entries.append(entry)
    return {"ListeCahierDeTextes": formats.wrapped(entries)}


def resource(call: Call) -> dict[str, Any]:
    """donneesContenusCDT: one entry (`cahierDeTextes.N`) of the user's own past lessons;
    another id is refused (`Erreur` G 2)."""
    ref = call.data.get("cahierDeTextes")
    entry_id = ref.get("N") if isinstance(ref, dict) else None
    key = entry_id.removeprefix("CT-") if isinstance(entry_id, str) else ""
    person = call.student() or call.me
    day = _day_of(key)
    found = []
    if person is not None and day is not None and day <= call.today:
        school = call.school
        lessons = school.lessons(person.id, day, day + datetime.timedelta(days=1))
        for lesson in lessons:
            if lesson_key(lesson.id) == key and not (lesson.cancelled and lesson.id != key):
                entry = _entry(call, lesson)
                if entry is not None:
                    found.append(entry)
                    break
    if not found:
        raise CallError(
            BAD_REQUEST,
            "Contenu introuvable",
            f"no cahier de textes {entry_id!r} among your lessons up to today: take the id from "
            "the timetable (cahierDeTextes.V.N of a past lesson)",
        )
    return {"ListeCahierDeTextes": formats.wrapped(found)}


def lesson_link(call: Call, lesson: Lesson) -> dict[str, Any]:
    """Fields a timetable lesson gets when its cahier de textes has a content (pawnote reads
    `AvecCdT` and `cahierDeTextes.V.N`, src/decoders/timetable-class-lesson.ts:41-43)."""
    if lesson.start.date() > call.today or _moved_away(lesson):
        return {}
    content = content_of(call.school, lesson.id, _subject(call.school, lesson.subject_id))
    if content is None:
        return {}
    return {
        "AvecCdT": True,
        "cahierDeTextes": formats.wrapped({"N": content.entry_id, "estDevoir": False}),
    }


def attachment_json(item: Attachment) -> dict[str, Any]:
    """pronotepy `Attachment` (dataClasses.py:751-773), pawnote `decodeAttachment`."""
    if item.is_link:
        return {"N": item.id, "G": 0, "L": item.name, "url": item.url}
    return {"N": item.id, "G": 1, "L": item.name}


def _entry(call: Call, lesson: Lesson) -> dict[str, Any] | None:
    school = call.school
    if _moved_away(lesson):
        return None  # its content is on the lesson where it moved to
    subject = _subject(school, lesson.subject_id)
    content = content_of(school, lesson.id, subject)
    if content is None:
        return None
    teacher = school.person_by_id(lesson.teacher_id)
    group = next((g for g in school.groups if g.id == lesson.group_id), None)
    klass = next((c for c in school.classes if c.id == lesson.class_id), None)
    groups = [{"N": g.id, "L": g.name} for g in (group, klass) if g is not None]
    return {
        "N": content.entry_id,
        "cours": formats.wrapped({"N": lesson.id}),
        "Date": formats.moment(lesson.start),
        "DateFin": formats.moment(lesson.end),
        "Matiere": formats.wrapped({"N": lesson.subject_id, "L": subject}),
        "CouleurFond": formats.colour(lesson.subject_id),
        "listeProfesseurs": formats.wrapped(
            [{"N": teacher.id, "L": teacher.display_name}] if isinstance(teacher, Teacher) else []
        ),
        "listeGroupes": formats.wrapped(groups),
        "listeContenus": formats.wrapped([_content(content)]),
    }


def _content(content: LessonContent) -> dict[str, Any]:
    return {
        "N": content.id,
        "L": content.title,
        "descriptif": formats.wrapped(f"<div>{html.escape(content.description)}</div>", 21),
        "categorie": formats.wrapped({"G": content.category, "L": content.category_label}),
        "ListePieceJointe": formats.wrapped([attachment_json(a) for a in content.attachments]),
        "ListeThemes": formats.wrapped([]),
        "parcoursEducatif": -1,
    }


def _moved_away(lesson: Lesson) -> bool:
    """The cancelled slot of a moved lesson (same id as its slot, status "Cours déplacé")."""
    return lesson.cancelled and lesson.status == "Cours déplacé"


def _subject(school: SchoolData, subject_id: str) -> str:
    return next((s.name for s in school.subjects if s.id == subject_id), subject_id)


def _day_of(key: str) -> datetime.date | None:
    try:
        return datetime.datetime.strptime(key.rpartition("-")[2], "%Y%m%d").date()
    except ValueError:
        return None
