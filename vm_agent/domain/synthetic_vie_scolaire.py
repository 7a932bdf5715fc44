"""The synthetic school's vie scolaire: absences, retards, punitions and sanctions through the
year, deterministic per seed (its own random stream, so the rest of the school is unchanged).

Every student marked Absent (or Absent zéro) at a devoir was absent that whole day; on top of
that each student has a few absences (a morning, an afternoon or whole days), delays at the
start of a lesson, and some get punitions from the teacher of a lesson or a sanction from
the head. Nothing overlaps: no delay or punition during an absence.
"""

from __future__ import annotations

import dataclasses
import datetime
import random
from collections.abc import Callable, Iterable
from typing import TypeVar

from vm_agent.domain.school_data import PersonKind, SchoolData, Student, WeeklyLesson
from vm_agent.domain.synthetic_life import ABSENT_KINDS, _school_days
from vm_agent.domain.vie_scolaire import Absence, Delay, Punishment, VieScolaire

_Record = TypeVar("_Record", Absence, Delay, Punishment)

ABSENCES_PER_STUDENT = 2.5  # mean, besides the days absent at a devoir
DELAYS_PER_STUDENT = 2.0  # mean
PUNISHED_SHARE = 0.12  # students with punitions (1 or 2)
SANCTIONED_SHARE = 0.025  # students with a sanction
UNKNOWN_REASON_SHARE = 0.15
ABSENCE_REASONS = ("Maladie", "Rendez-vous médical", "Raison familiale",
                   "Problème de transport", "Convocation administrative")  # fmt: skip
DELAY_REASONS = ("Problème de transport", "Panne de réveil", "Rendez-vous médical")
DELAY_MINUTES = (5, 5, 5, 10, 10, 15, 20, 30)
PUNITIONS = (  # nature, share, is an exclusion
    ("Retenue", 0.5, False),
    ("Devoir supplémentaire", 0.35, False),
    ("Exclusion de cours", 0.15, True),
)
PUNITION_REASONS = ("Travail non fait", "Bavardages répétés", "Oubli de matériel répété",
                    "Insolence", "Perturbation du cours", "Téléphone portable")  # fmt: skip
CIRCUMSTANCES = (
    "A perturbé le cours à plusieurs reprises malgré les avertissements.",
    "N'a pas rendu le travail demandé pour la troisième fois.",
    "A refusé de se mettre au travail.",
    "A répondu de manière irrespectueuse au professeur.",
    "A utilisé son téléphone pendant le cours.",
)
SANCTIONS = (  # nature, is an exclusion
    ("Avertissement", False),
    ("Blâme", False),
    ("Mesure de responsabilisation", False),
    ("Exclusion temporaire de l'établissement", True),
)
SANCTION_CIRCUMSTANCES = (
    "Comportements répétés perturbant la vie de l'établissement.",
    "Violence verbale envers un camarade.",
    "Dégradation de matériel de l'établissement.",
)
EXTRA_WORK = "Rédiger une page sur le respect des règles de la classe."
MORNING = (datetime.time(8), datetime.time(12))
AFTERNOON = (datetime.time(13), datetime.time(17))
_DAY = datetime.timedelta(days=1)


def absent_at_devoirs(data: SchoolData) -> set[tuple[str, datetime.date]]:
    """(student id, day) of every devoir a student was absent at."""
    return {
        (student_id, e.date)
        for e in data.evaluations
        for student_id, mark in e.marks.items()
        if mark in ABSENT_KINDS
    }


def vie_scolaire(
    seed: str, data: SchoolData, absent_days: set[tuple[str, datetime.date]]
) -> VieScolaire:
    """The vie scolaire of the school `data` (with its timetable) of `seed`."""
    rng = random.Random(f"{seed}|{data.school_year}|vie scolaire")
    days = _school_days(data)
    if not days or not data.students:
        return VieScolaire()
    head = next((p for p in data.staff if p.kind is PersonKind.PERSONNEL), None)
    teachers = {t.id: t.display_name for t in data.teachers}
    absent_on: dict[str, list[datetime.date]] = {}
    for student_id, day in sorted(absent_days):
        absent_on.setdefault(student_id, []).append(day)
    absences: list[Absence] = []
    delays: list[Delay] = []
    punishments: list[Punishment] = []
    for student in data.students:
        busy: set[tuple[datetime.date, int]] = set()  # (day, 0 morning / 1 afternoon)
        absences.extend(_absences(rng, data, student, days, absent_on.get(student.id, []), busy))
        delays.extend(_delays(rng, data, student, days, busy))
        punishments.extend(_punitions(rng, data, student, days, busy, teachers))
        if head is not None and rng.random() < SANCTIONED_SHARE:
            nature, exclusion = rng.choice(SANCTIONS)
            day = rng.choice(days)
            punishments.append(
                Punishment(
                    id="",
                    student_id=student.id,
                    given_at=datetime.datetime.combine(day, datetime.time(17)),
                    nature=nature,
                    reason=rng.choice(PUNITION_REASONS),
                    circumstances=rng.choice(SANCTION_CIRCUMSTANCES),
                    giver_id=head.id,
                    giver_name=head.display_name,
                    is_sanction=True,
                    is_exclusion=exclusion,
                )
            )
    return VieScolaire(
        absences=_numbered(absences, "AB", lambda a: a.start),
        delays=_numbered(delays, "RE", lambda d: d.at),
        punishments=_numbered(punishments, "PU", lambda p: p.given_at),
    )


def _lessons_on(data: SchoolData, student: Student, day: datetime.date) -> list[WeeklyLesson]:
    """The weekly timetable's slots that school day (its exceptions are not known to `count`)."""
    return data.weekly_lessons(student.id, day.weekday())


def _at(day: datetime.date, slot: WeeklyLesson) -> datetime.datetime:
    return datetime.datetime.combine(day, slot.start)


def _absences(
    rng: random.Random,
    data: SchoolData,
    student: Student,
    days: list[datetime.date],
    devoir_days: Iterable[datetime.date],
    busy: set[tuple[datetime.date, int]],
) -> list[Absence]:
    found: list[Absence] = []

    def add(first: datetime.date, last: datetime.date, halves: tuple[int, ...], reason: str,
            justified: bool) -> None:  # fmt: skip
        span = [d for d in days if first <= d <= last]
        cells = [(d, h) for d in span for h in halves if (d, h) not in busy]
        if len(cells) != len(span) * len(halves) or not span:
            return  # overlaps another absence: the CPE records one
        busy.update(cells)
        start = datetime.datetime.combine(first, (MORNING, AFTERNOON)[halves[0]][0])
        end = datetime.datetime.combine(last, (MORNING, AFTERNOON)[halves[-1]][1])
        minutes = sum(
            (slot.end.hour * 60 + slot.end.minute) - (slot.start.hour * 60 + slot.start.minute)
            for day in span
            for slot in _lessons_on(data, student, day)
            if start <= _at(day, slot) < end
        )
        found.append(Absence("", student.id, start, end, len(cells), minutes, reason, justified))

    for day in devoir_days:
        add(day, day, (0, 1), "Maladie", True)
    for _ in range(min(12, int(rng.expovariate(1 / ABSENCES_PER_STUDENT)))):
        index = rng.randrange(len(days))
        shape = rng.random()
        reason = "" if rng.random() < UNKNOWN_REASON_SHARE else rng.choice(ABSENCE_REASONS)
        justified = bool(reason) and rng.random() < 0.85
        if shape < 0.45:
            add(days[index], days[index], (0,), reason, justified)
        elif shape < 0.75 and days[index].weekday() != 2:  # no lessons on Wednesday afternoon
            add(days[index], days[index], (1,), reason, justified)
        else:
            last = days[min(len(days) - 1, index + rng.choice((0, 0, 1, 2)))]
            add(days[index], last, (0, 1), reason, justified)
    return found


def _delays(
    rng: random.Random,
    data: SchoolData,
    student: Student,
    days: list[datetime.date],
    busy: set[tuple[datetime.date, int]],
) -> list[Delay]:
    found = []
    for _ in range(min(10, int(rng.expovariate(1 / DELAYS_PER_STUDENT)))):
        day = rng.choice(days)
        lessons = [
            lesson
            for lesson in _lessons_on(data, student, day)
            if (day, 0 if lesson.start.hour < 12 else 1) not in busy
        ]
        if not lessons:
            continue
        lesson = rng.choice(lessons)
        reason = "" if rng.random() < UNKNOWN_REASON_SHARE else rng.choice(DELAY_REASONS)
        justified = bool(reason) and rng.random() < 0.6
        found.append(
            Delay("", student.id, _at(day, lesson), rng.choice(DELAY_MINUTES), reason, justified)
        )
    return found


def _punitions(
    rng: random.Random,
    data: SchoolData,
    student: Student,
    days: list[datetime.date],
    busy: set[tuple[datetime.date, int]],
    teachers: dict[str, str],
) -> list[Punishment]:
    if rng.random() >= PUNISHED_SHARE:
        return []
    found = []
    for _ in range(rng.choice((1, 1, 2))):
        day = rng.choice(days)
        lessons = [
            lesson
            for lesson in _lessons_on(data, student, day)
            if (day, 0 if lesson.start.hour < 12 else 1) not in busy
        ]
        if not lessons:
            continue
        lesson = rng.choice(lessons)
        draw, nature, exclusion = rng.random(), PUNITIONS[-1][0], PUNITIONS[-1][2]
        for name, share, is_exclusion in PUNITIONS:
            if draw < share:
                nature, exclusion = name, is_exclusion
                break
            draw -= share
        retenue = nature == "Retenue"
        found.append(
            Punishment(
                id="",
                student_id=student.id,
                given_at=_at(day, lesson),
                nature=nature,
                reason=rng.choice(PUNITION_REASONS),
                circumstances=rng.choice(CIRCUMSTANCES),
                giver_id=lesson.teacher_id,
                giver_name=teachers.get(lesson.teacher_id, ""),
                is_exclusion=exclusion,
                duration_minutes=rng.choice((60, 120)) if retenue else 0,
                scheduled_on=_next_wednesday(day) if retenue else None,
                work=EXTRA_WORK if nature == "Devoir supplémentaire" else "",
            )
        )
    return found


def _next_wednesday(day: datetime.date) -> datetime.date:
    return day + ((2 - day.weekday()) % 7 or 7) * _DAY


def _numbered(
    items: list[_Record], prefix: str, when: Callable[[_Record], datetime.datetime]
) -> tuple[_Record, ...]:
    """Sorted by date, numbered in that order ("AB1", "AB2"…)."""
    ordered = sorted(items, key=lambda item: (when(item), item.student_id))
    return tuple(dataclasses.replace(item, id=f"{prefix}{n + 1}") for n, item in enumerate(ordered))
