"""The everyday discussions of a synthetic school, beside the per-class ones of
`synthetic_life`: most students have asked a teacher something, most parents have written to
or been written to by a teacher or the vie scolaire, and every sample account (the first
people of each kind, the first family) takes part in at least one.

Shares: about 65 % of students and 60 % of responsables (a typical Messagerie a month into
the year); deterministic from the school's people, so the same school gets the same
discussions. Uses its own random generator, so the other generators' output is unchanged.
"""

from __future__ import annotations

import datetime
import random
from collections import defaultdict

from vm_agent.domain.school_data import (
    Discussion,
    Message,
    Person,
    PersonKind,
    SchoolData,
    Student,
)

STUDENT_SHARE = 0.65
PARENT_SHARE = 0.60
_DAY = datetime.timedelta(days=1)

_STUDENT_TOPICS = [
    ("Question sur le devoir", "Bonjour, je n'ai pas compris l'exercice 3, pouvez-vous m'aider ?",
     "Bonjour, relis la méthode vue en classe, nous la reprendrons au prochain cours."),
    ("Document manquant", "Bonjour, j'étais absent, pouvez-vous m'envoyer le document ?",
     "Bonjour, il est dans le cahier de textes, en pièce jointe."),
    ("Exposé", "Bonjour, pouvons-nous faire l'exposé à deux ?",
     "Oui, à condition que chacun présente une partie."),
]  # fmt: skip
_PARENT_TOPICS = [
    ("Rendez-vous", "Bonjour, nous aimerions vous rencontrer au sujet des résultats de {child}.",
     "Bonjour, je vous propose jeudi à 17h."),
    ("Retard", "Bonjour, {child} sera en retard demain matin pour un rendez-vous médical.",
     "Bien noté, merci de nous avoir prévenus."),
    ("Sortie scolaire",
     "Bonjour, {child} pourra-t-il participer à la sortie sans autorisation signée ?",
     "Bonjour, l'autorisation est nécessaire : merci de la rendre avant vendredi."),
]  # fmt: skip


def everyday_discussions(
    data: SchoolData, days: list[datetime.date], first_number: int
) -> tuple[Discussion, ...]:
    """Discussions numbered from `first_number` (ids `DI<n>`), dated on `days`."""
    if not days or not data.students or not data.teachers:
        return ()
    rng = random.Random(f"discussions/{data.school_year}/{data.students[0].login}")
    teachers_of: dict[str, list[str]] = defaultdict(list)
    for slot in data.timetable:
        if slot.teacher_id not in teachers_of[slot.class_id]:
            teachers_of[slot.class_id].append(slot.teacher_id)
    teachers = {t.id: t for t in data.teachers}
    vie_scolaire = [p for p in data.staff if p.kind is PersonKind.VIE_SCOLAIRE]
    students = {s.id: s for s in data.students}
    sample = _sample_people(data)
    out: list[Discussion] = []

    def add(subject: str, people: list[Person], lines: list[tuple[Person, str]]) -> None:
        day = rng.choice(days)
        messages = tuple(
            Message(
                author.display_name,
                datetime.datetime.combine(day + n * _DAY, datetime.time(8 + 3 * n, 40)),
                text,
            )
            for n, (author, text) in enumerate(lines)
        )
        ids = tuple(dict.fromkeys(p.id for p in people))
        out.append(Discussion(f"DI{first_number + len(out)}", subject, ids, messages))

    def teacher_of(student: Student) -> Person:
        ids = teachers_of.get(student.class_id) or [data.teachers[0].id]
        return teachers[rng.choice(ids)] if student.id not in sample else teachers[ids[0]]

    for student in data.students:
        if student.id in sample or rng.random() < STUDENT_SHARE:
            subject, question, answer = rng.choice(_STUDENT_TOPICS)
            teacher = teacher_of(student)
            add(subject, [student, teacher], [(student, question), (teacher, answer)])
    for responsable in data.responsables:
        child = students.get(responsable.child_ids[0]) if responsable.child_ids else None
        if child is None or (responsable.id not in sample and rng.random() >= PARENT_SHARE):
            continue
        subject, question, answer = rng.choice(_PARENT_TOPICS)
        other = teacher_of(child)
        if vie_scolaire and subject == "Retard":
            other = vie_scolaire[0]
        add(
            f"{subject} - {child.first_name}",
            [responsable, other],
            [(responsable, question.format(child=child.first_name)), (other, answer)],
        )
    first_teacher = data.teachers[0]
    if not any(first_teacher.id in d.participant_ids for d in out):
        colleague = data.teachers[-1]
        add(
            "Conseil de classe",
            [first_teacher, colleague],
            [(colleague, "Peux-tu préparer les appréciations pour jeudi ?"),
             (first_teacher, "Oui, c'est prévu.")],
        )  # fmt: skip
    return tuple(out)


def _sample_people(data: SchoolData) -> set[str]:
    """Who the sample accounts may be: the first person of each kind, the first family, and the
    demo's sample family (the parent with the most children and their children, as
    `synthetic._sample_order` picks them: its élève is one of those children)."""
    ids = {data.students[0].id, data.teachers[0].id}
    if data.responsables:
        ids.add(data.responsables[0].id)
        families = [
            next((r for r in data.responsables if r.child_ids), None),
            max(data.responsables, key=lambda r: len(r.child_ids)),
        ]
        for family in families:
            if family is not None and family.child_ids:
                ids.add(family.id)
                ids.update(family.child_ids)
    return ids
