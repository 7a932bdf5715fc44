"""Report cards ("bulletins"): a student's period, subject by subject, as the conseil de
classe sees it. Computed from the school data on read (nothing is stored).

Averages follow PRONOTE's rules (`vm_agent.domain.marks`) over the marks online by `today`
(published on or before it); the class's min/max/average are over its students' averages in
the subject, its overall average the mean of their moyennes générales. The appréciations are
drawn from the seed, in the band of the student's average; the head teacher (professeur
principal) is the teacher who teaches the class most hours. The vie scolaire summary counts
the demi-journées of absence and the retards of the period so far (`data.vie_scolaire`).
"""

from __future__ import annotations

import datetime
import statistics
from collections import defaultdict
from dataclasses import dataclass

from vm_agent.domain import marks
from vm_agent.domain.school_data import Evaluation, Period, SchoolData, Student
from vm_agent.domain.synthetic_draw import pick

# (lowest average of the band, appréciations)
SUBJECT_APPRECIATIONS = (
    (16.0, ("Excellent trimestre, félicitations.", "Très bon travail, continuez ainsi.")),
    (13.0, ("Bon trimestre, travail sérieux.", "Bons résultats, participation active.")),
    (
        10.0,
        ("Résultats corrects, peut mieux faire.", "Ensemble satisfaisant, soyez plus régulier."),
    ),
    (7.0, ("Résultats fragiles, il faut travailler davantage.", "Des efforts sont attendus.")),
    (0.0, ("Trimestre très insuffisant.", "Travail insuffisant, il faut se ressaisir.")),
)
GENERAL_APPRECIATIONS = (
    (16.0, "Félicitations du conseil de classe. Excellent trimestre."),
    (14.0, "Compliments du conseil de classe. Très bon trimestre."),
    (12.0, "Encouragements du conseil de classe. Bon ensemble."),
    (10.0, "Trimestre correct dans l'ensemble, des efforts à poursuivre."),
    (0.0, "Trimestre insuffisant. Un travail plus régulier est indispensable."),
)


@dataclass(frozen=True)
class SubjectReport:
    subject_id: str
    name: str
    teachers: tuple[str, ...]  # display names
    coefficient: float
    student: float | None  # out of 20; None: no mark (absent at every devoir)
    class_average: float | None
    class_min: float | None
    class_max: float | None
    appreciation: str


@dataclass(frozen=True)
class ReportCard:
    student: Student
    class_name: str
    period: Period
    subjects: tuple[SubjectReport, ...]
    overall: float | None  # the mean of the subject averages
    class_overall: float | None
    head_teacher: str
    general_appreciation: str
    absences: int  # half-days missed
    delays: int


def report_card(
    data: SchoolData, student: Student, period: Period, today: datetime.date
) -> ReportCard | None:
    """The report card of a period that has started by `today` (None before it starts)."""
    if today < period.start:
        return None
    given = marks.visible_on(data.class_evaluations(student.class_id, period.id), today)
    figures = marks.class_figures(given)
    mine = {e.subject_id for e in given if student.id in e.marks}
    subjects = {s.id: s.name for s in data.subjects}
    teachers = _teachers_of(data, student)
    reports = []
    for subject_id in sorted(mine, key=lambda s: subjects.get(s, s)):
        averages = list(figures.subject_averages.get(subject_id, {}).values())
        own = figures.subject_averages.get(subject_id, {}).get(student.id)
        reports.append(
            SubjectReport(
                subject_id=subject_id,
                name=subjects.get(subject_id, subject_id),
                teachers=tuple(teachers.get(subject_id, ())),
                coefficient=1.0,
                student=own,
                class_average=statistics.fmean(averages) if averages else None,
                class_min=min(averages) if averages else None,
                class_max=max(averages) if averages else None,
                appreciation=_appreciation(data, student, period, subject_id, own),
            )
        )
    overall = figures.overalls.get(student.id)
    klass = next((c for c in data.classes if c.id == student.class_id), None)
    absences, delays, _ = data.vie_scolaire.of(student.id)
    end = datetime.datetime.combine(min(today, period.end), datetime.time.max)
    start = datetime.datetime.combine(period.start, datetime.time.min)
    return ReportCard(
        student=student,
        class_name=klass.name if klass else "",
        period=period,
        subjects=tuple(reports),
        overall=overall,
        class_overall=figures.class_average(),
        head_teacher=_head_teacher(data, student.class_id),
        general_appreciation=_general(overall),
        absences=sum(a.half_days for a in absences if start <= a.start <= end),
        delays=sum(1 for d in delays if start <= d.at <= end),
    )


def average(items: list[Evaluation], student_id: str) -> float | None:
    """A student's average on 20 over `items`, with PRONOTE's rules (`marks`)."""
    return marks.subject_average(items, student_id)


def _teachers_of(data: SchoolData, student: Student) -> dict[str, list[str]]:
    names = {t.id: t.display_name for t in data.teachers}
    found: dict[str, list[str]] = defaultdict(list)
    for slot in data.timetable:
        mine = (
            slot.group_id in student.group_ids
            if slot.group_id
            else slot.class_id == student.class_id
        )
        name = names.get(slot.teacher_id)
        if mine and name and name not in found[slot.subject_id]:
            found[slot.subject_id].append(name)
    return found


def _head_teacher(data: SchoolData, class_id: str) -> str:
    hours: dict[str, int] = defaultdict(int)
    for slot in data.timetable:
        if slot.class_id == class_id and not slot.group_id:
            hours[slot.teacher_id] += 1
    if not hours:
        return ""
    teacher_id = max(sorted(hours), key=lambda t: hours[t])
    teacher = data.person_by_id(teacher_id)
    return teacher.display_name if teacher else ""


def _appreciation(
    data: SchoolData, student: Student, period: Period, subject_id: str, value: float | None
) -> str:
    if value is None:
        return "Absent aux évaluations : pas de moyenne ce trimestre."
    texts = next(t for low, t in SUBJECT_APPRECIATIONS if value >= low)
    return pick(texts, data.seed, "appreciation", student.id, period.id, subject_id)


def _general(overall: float | None) -> str:
    if overall is None:
        return "Pas encore de moyenne sur la période."
    return next(text for low, text in GENERAL_APPRECIATIONS if overall >= low)
