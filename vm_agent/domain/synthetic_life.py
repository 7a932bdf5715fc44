"""The school's life over the year on top of its timetable: homework, grades, news, messages,
and the timetable's exceptions (a teacher absent for a day, a cancelled lesson)."""

from __future__ import annotations

import dataclasses
import datetime
import random
from collections import defaultdict
from collections.abc import Iterator

from vm_agent.domain import synthetic_names as names
from vm_agent.domain.school_data import (
    Discussion,
    Evaluation,
    Homework,
    Mark,
    MarkKind,
    Message,
    NewsItem,
    Person,
    PersonKind,
    SchoolData,
    WeeklyLesson,
)
from vm_agent.domain.synthetic_discussions import everyday_discussions

HOMEWORK_PROBABILITY = 0.3
EVALUATIONS_PER_PERIOD = 3
ABSENT_PROBABILITY = 0.05  # a special mark instead of points, split as SPECIAL_MARKS says
SPECIAL_MARKS = (  # (cumulated share of ABSENT_PROBABILITY, kind)
    (0.55, MarkKind.ABSENT),
    (0.65, MarkKind.ABSENT_ZERO),
    (0.75, MarkKind.DISPENSE),
    (0.85, MarkKind.NON_RENDU),
    (0.9, MarkKind.NON_RENDU_ZERO),
    (0.95, MarkKind.INAPTE),
    (1.0, MarkKind.NON_NOTE),
)
ABSENT_KINDS = frozenset({MarkKind.ABSENT, MarkKind.ABSENT_ZERO})  # the student was away
OPTIONAL_PROBABILITY = 0.08
BONUS_PROBABILITY = 0.04
PUBLICATION_DELAYS = (0, 0, 0, 1, 2, 3, 7)  # days between the devoir and its marks online
TEACHER_ABSENT_PROBABILITY = 0.015
CANCELLED_PROBABILITY = 0.005
_HALF_POINTS = tuple(i / 2 for i in range(41))  # 0.0 .. 20.0, shared by every mark
_DAY = datetime.timedelta(days=1)


def school_life(rng: random.Random, data: SchoolData) -> SchoolData:
    days = _school_days(data)
    by_class = _by_class(data)
    return dataclasses.replace(
        data,
        homework=tuple(_homework(rng, data, days, by_class)),
        evaluations=tuple(_evaluations(rng, data, days, by_class)),
        news=_news(data),
        discussions=_discussions(rng, data, days),
        teacher_absences=frozenset(
            (t.id, day)
            for t in data.teachers
            for day in days
            if rng.random() < TEACHER_ABSENT_PROBABILITY
        ),
        cancellations=frozenset(
            (slot.id, day)
            for slot in data.timetable
            for day in days
            if day.weekday() == slot.weekday and rng.random() < CANCELLED_PROBABILITY
        ),
    )


def life_counts(
    rng: random.Random, data: SchoolData
) -> tuple[int, int, int, set[tuple[str, datetime.date]]]:
    """(homework, evaluations, marks given, (student, day) absent at a devoir) of
    `school_life`, counted as they are made and dropped: the counters of a school cost no
    memory for its data."""
    days = _school_days(data)
    by_class = _by_class(data)
    homework = sum(1 for _ in _homework(rng, data, days, by_class))
    evaluations = marks = 0
    absent_days: set[tuple[str, datetime.date]] = set()
    for evaluation in _evaluations(rng, data, days, by_class):
        evaluations += 1
        for student_id, mark in evaluation.marks.items():
            if mark in ABSENT_KINDS:
                absent_days.add((student_id, evaluation.date))
            elif not isinstance(mark, MarkKind):
                marks += 1
    return homework, evaluations, marks, absent_days


def _by_class(data: SchoolData) -> dict[str, list[WeeklyLesson]]:
    by_class: dict[str, list[WeeklyLesson]] = defaultdict(list)
    for slot in data.timetable:
        by_class[slot.class_id].append(slot)
    return by_class


def _school_days(data: SchoolData) -> list[datetime.date]:
    if data.classes_start is None or data.classes_end is None:
        return []
    count = (data.classes_end - data.classes_start).days
    all_days = (data.classes_start + i * _DAY for i in range(count))
    return [day for day in all_days if data.is_school_day(day)]


def _homework(
    rng: random.Random,
    data: SchoolData,
    days: list[datetime.date],
    by_class: dict[str, list[WeeklyLesson]],
) -> Iterator[Homework]:
    """Given at a whole-class lesson, due at the class's next lesson of the subject."""
    texts = [
        template.format(a=rng.randint(1, 30), b=rng.randint(31, 60), p=rng.randint(10, 250),
                        q=rng.randint(251, 300), c=rng.randint(1, 12))
        for template in names.HOMEWORK_TEXTS for _ in range(4)
    ]  # fmt: skip
    count = 0
    for school_class in data.classes:
        slots = [s for s in by_class.get(school_class.id, []) if not s.group_id]
        weekdays_of: dict[str, set[int]] = defaultdict(set)
        for slot in slots:
            weekdays_of[slot.subject_id].add(slot.weekday)
        for index, day in enumerate(days):
            for slot in slots:
                if slot.weekday != day.weekday() or rng.random() >= HOMEWORK_PROBABILITY:
                    continue
                due = next(
                    (
                        d
                        for d in days[index + 1 : index + 20]
                        if d.weekday() in weekdays_of[slot.subject_id]
                    ),
                    None,
                )
                if due is None:
                    continue
                count += 1
                yield Homework(
                    id=f"TA{count}",
                    subject_id=slot.subject_id,
                    teacher_id=slot.teacher_id,
                    class_id=school_class.id,
                    given_on=day,
                    due_on=due,
                    description=rng.choice(texts),
                )


def _evaluations(
    rng: random.Random,
    data: SchoolData,
    days: list[datetime.date],
    by_class: dict[str, list[WeeklyLesson]],
) -> Iterator[Evaluation]:
    """Three graded devoirs per subject and trimestre, for the class or the group taught."""
    ability = {s.id: rng.gauss(12.0, 3.0) for s in data.students}
    members: dict[str, list[str]] = defaultdict(list)  # class or group id -> student ids
    for student in data.students:
        members[student.class_id].append(student.id)
        for group_id in student.group_ids:
            members[group_id].append(student.id)
    days_of: dict[tuple[str, int], list[datetime.date]] = defaultdict(list)
    for period in data.periods:
        for day in days:
            if period.start <= day <= period.end:
                days_of[(period.id, day.weekday())].append(day)
    count = 0
    for school_class in data.classes:
        taught: dict[tuple[str, str], set[int]] = defaultdict(set)  # (group, subject) -> days
        for slot in by_class.get(school_class.id, []):
            taught[(slot.group_id, slot.subject_id)].add(slot.weekday)
        for (group_id, subject_id), weekdays in taught.items():
            if group_id and ("", subject_id) in taught:
                continue  # half-class lessons of a subject the class is graded in as a whole
            students = members[group_id or school_class.id]
            for period in data.periods:
                lesson_days = sorted(
                    day for weekday in weekdays for day in days_of[(period.id, weekday)]
                )
                for rank in range(EVALUATIONS_PER_PERIOD if lesson_days else 0):
                    day = lesson_days[
                        (2 * rank + 1) * len(lesson_days) // (2 * EVALUATIONS_PER_PERIOD)
                    ]
                    out_of = 10.0 if rng.random() < 0.2 else 20.0
                    difficulty = rng.gauss(0.0, 1.5)
                    marks: dict[str, Mark] = {}
                    for student_id in students:
                        draw = rng.random()
                        if draw < ABSENT_PROBABILITY:
                            marks[student_id] = _special_mark(draw)
                            continue
                        on_20 = ability[student_id] + difficulty + rng.gauss(0.0, 2.5)
                        half_points = min(40, max(0, round(on_20 * 2)))
                        if out_of == 10.0:
                            half_points //= 2
                        marks[student_id] = _HALF_POINTS[half_points]
                    last = rank == EVALUATIONS_PER_PERIOD - 1
                    kind = rng.random()  # the last devoir of a period is never optional/bonus
                    text = rng.choice(names.EVALUATION_TEXTS)
                    count += 1
                    yield Evaluation(
                        id=f"EV{count}",
                        subject_id=subject_id,
                        class_id=school_class.id,
                        period_id=period.id,
                        date=day,
                        out_of=out_of,
                        coefficient=_coefficient(text, last),
                        comment=f"{text} {rank + 1}",
                        marks=marks,
                        published_on=day + rng.choice(PUBLICATION_DELAYS) * _DAY,
                        is_optional=not last and kind < OPTIONAL_PROBABILITY,
                        is_bonus=not last and 1 - kind < BONUS_PROBABILITY,
                    )


def _coefficient(text: str, last: bool) -> float:
    """The trimestre's last devoir counts double, a devoir maison half."""
    if last:
        return 2.0
    return 0.5 if text == "Devoir maison" else 1.0


def _special_mark(draw: float) -> MarkKind:
    """The special mark of a draw below ABSENT_PROBABILITY."""
    share = draw / ABSENT_PROBABILITY
    return next((kind for bound, kind in SPECIAL_MARKS if share < bound), MarkKind.NON_NOTE)


def _news(data: SchoolData) -> tuple[NewsItem, ...]:
    year = int(data.school_year[:4])
    direction = next((p for p in data.staff if p.kind is PersonKind.PERSONNEL), None)
    cpe = next((p for p in data.staff if p.kind is PersonKind.VIE_SCOLAIRE), direction)
    author = direction.display_name if direction else "Direction"
    vie_scolaire = cpe.display_name if cpe else author
    everyone = frozenset(PersonKind)
    families = frozenset({PersonKind.ELEVE, PersonKind.RESPONSABLE})
    adults = frozenset({PersonKind.RESPONSABLE, PersonKind.PROFESSEUR, PersonKind.PERSONNEL})
    items = [
        ("Rentrée scolaire", author, datetime.date(year, 8, 28), "Vie de l'établissement",
         f"La rentrée des élèves aura lieu le 1er septembre {year}. Les emplois du temps "
         "sont consultables dans l'espace élève.", everyone, "", ()),
        ("Réunion parents-professeurs", author, datetime.date(year, 9, 18), "Réunions",
         "Les parents sont invités à rencontrer l'équipe pédagogique de la classe de leur "
         "enfant.", adults, "", ()),
        ("Photos de classe", vie_scolaire, datetime.date(year, 10, 2), "Vie scolaire",
         "Les photos de classe seront prises la semaine prochaine.", families, "", ()),
        ("Conseils de classe du 1er trimestre", author, datetime.date(year, 11, 20), "Réunions",
         "Les conseils de classe se tiendront du 1er au 12 décembre.", everyone, "", ()),
        ("Fête de fin d'année", author, datetime.date(year + 1, 3, 10), "Sondage",
         "Aidez-nous à choisir le thème de la fête de fin d'année.", families,
         "Quel thème préférez-vous ?", ("Le cinéma", "Les voyages", "Le sport", "Les années 80")),
        ("Restauration scolaire", vie_scolaire, datetime.date(year, 11, 5), "Sondage",
         "Donnez votre avis sur la cantine.", families,
         "Êtes-vous satisfait des repas ?", ("Très satisfait", "Satisfait", "Peu satisfait")),
    ]  # fmt: skip
    return tuple(
        NewsItem(
            id=f"AC{index + 1}",
            title=title,
            author=who,
            date=date,
            category=category,
            content=content,
            audience=audience,
            is_survey=bool(question),
            question=question,
            choices=choices,
        )
        for index, (title, who, date, category, content, audience, question, choices) in
        enumerate(items)
    )  # fmt: skip


def _discussions(
    rng: random.Random, data: SchoolData, days: list[datetime.date]
) -> tuple[Discussion, ...]:
    """Per class: a teacher writes to a student's parents; the CPE asks about an absence."""
    if not days:
        return ()
    cpe = next((p for p in data.staff if p.kind is PersonKind.VIE_SCOLAIRE), None)
    parents_of: dict[str, list[Person]] = defaultdict(list)
    for responsable in data.responsables:
        for child_id in responsable.child_ids:
            parents_of[child_id].append(responsable)
    teacher_of = {slot.class_id: slot.teacher_id for slot in reversed(data.timetable)}
    teachers = {t.id: t for t in data.teachers}
    students_of: dict[str, list[Person]] = defaultdict(list)
    for student in data.students:
        students_of[student.class_id].append(student)
    discussions: list[Discussion] = []

    def add(subject: str, people: list[Person], lines: list[tuple[Person, str]]) -> None:
        day = rng.choice(days[: max(1, len(days) // 2)])
        messages = tuple(
            Message(
                author.display_name,
                datetime.datetime.combine(day + index * _DAY, datetime.time(9 + 2 * index, 15)),
                text,
            )
            for index, (author, text) in enumerate(lines)
        )
        ids = tuple(dict.fromkeys(p.id for p in people))
        discussions.append(Discussion(f"DI{len(discussions) + 1}", subject, ids, messages))

    for school_class in data.classes:
        students = students_of[school_class.id]
        if not students:
            continue
        pupil = rng.choice(students)
        parents = parents_of[pupil.id]
        teacher = teachers.get(teacher_of.get(school_class.id, ""))
        if teacher and parents:
            add(
                f"Travail de {pupil.first_name}",
                [teacher, *parents],
                [
                    (teacher, f"Bonjour, {pupil.first_name} ne rend plus ses devoirs à temps."),
                    (parents[0], "Bonjour, merci de nous avoir prévenus, nous allons en parler."),
                    (teacher, "Merci, je reste disponible pour un rendez-vous."),
                ],
            )
        if cpe and parents:
            absent = rng.choice(students)
            add(
                f"Absence de {absent.first_name} {absent.last_name}",
                [cpe, absent, *parents_of[absent.id]],
                [(cpe, "Bonjour, merci de justifier l'absence de ce matin.")],
            )
    return tuple(discussions) + everyday_discussions(data, days[:15], len(discussions) + 1)
