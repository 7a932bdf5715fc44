"""What a base holds about the school's life: people, timetable, homework, grades, news.

Plain frozen dataclasses, the shared vocabulary between the synthetic school generator
(`vm_agent.domain.synthetic`) and whoever reads a school's data (PRONOTE.net, the console's
counters). Ids are strings, unique within one school (PRONOTE.net compares them as strings).
"""

from __future__ import annotations

import bisect
import datetime
import enum
import functools
from collections import defaultdict
from dataclasses import dataclass, field

from vm_agent.domain.competences import CompetenceEvaluation
from vm_agent.domain.vie_scolaire import VieScolaire


class PersonKind(enum.Enum):
    ELEVE = "eleve"
    RESPONSABLE = "responsable"  # a parent
    PROFESSEUR = "professeur"
    VIE_SCOLAIRE = "vie_scolaire"  # CPE, surveillants: a personnel of the Vie scolaire group
    PERSONNEL = "personnel"  # direction, secretariat


@dataclass(frozen=True)
class Person:
    id: str
    kind: PersonKind
    login: str
    first_name: str
    last_name: str

    @property
    def display_name(self) -> str:
        return f"{self.last_name} {self.first_name}"


@dataclass(frozen=True)
class Student(Person):
    class_id: str = ""
    group_ids: tuple[str, ...] = ()
    birth_date: datetime.date | None = None


@dataclass(frozen=True)
class Responsable(Person):
    child_ids: tuple[str, ...] = ()  # Student ids


@dataclass(frozen=True)
class Teacher(Person):
    subject_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Subject:
    id: str
    name: str  # "MATHEMATIQUES"
    short: str  # "MATHS"


@dataclass(frozen=True)
class Room:
    id: str
    name: str


@dataclass(frozen=True)
class SchoolClass:
    id: str
    name: str  # "4A"
    level: str  # "4EME"


@dataclass(frozen=True)
class Group:
    id: str
    name: str  # "4A-ESP"
    class_id: str
    subject_id: str


@dataclass(frozen=True)
class Period:
    id: str
    name: str  # "Trimestre 1"
    start: datetime.date
    end: datetime.date


@dataclass(frozen=True)
class Lesson:
    """One lesson on one day (the weekly timetable applied to a date, with its exceptions)."""

    id: str
    start: datetime.datetime
    end: datetime.datetime
    subject_id: str
    teacher_id: str
    room_id: str
    class_id: str = ""  # a whole class, or
    group_id: str = ""  # one of its groups
    status: str = ""  # "", "Prof. absent", "Cours annulé", "Changement de salle"
    cancelled: bool = False


@dataclass(frozen=True)
class Homework:
    id: str
    subject_id: str
    teacher_id: str
    class_id: str
    given_on: datetime.date
    due_on: datetime.date
    description: str


class MarkKind(enum.Enum):
    """A mark that is not a number, with PRONOTE's own code (sent as "|<code>", read by
    pronotepy's `Util.grade_translate` and pawnote's `GradeKind`). The "zéro" kinds count as 0
    in averages, the others are left out (`vm_agent.domain.marks`)."""

    ABSENT = 1
    DISPENSE = 2
    NON_NOTE = 3
    INAPTE = 4
    NON_RENDU = 5
    ABSENT_ZERO = 6
    NON_RENDU_ZERO = 7


Mark = float | MarkKind  # points out of the devoir's `out_of`, or a special mark


@dataclass(frozen=True)
class Evaluation:
    """A "devoir" with its marks: student id -> points out of `out_of`, or a MarkKind.

    Families see it from `published_on` (the teacher's publication date; None: its `date`).
    An optional mark counts only if it raises the average; of a bonus mark only the points
    above 10/20 count (`vm_agent.domain.marks`)."""

    id: str
    subject_id: str
    class_id: str
    period_id: str
    date: datetime.date
    out_of: float
    coefficient: float
    comment: str
    marks: dict[str, Mark] = field(default_factory=dict, hash=False, compare=False)
    published_on: datetime.date | None = None
    is_optional: bool = False
    is_bonus: bool = False

    @property
    def visible_from(self) -> datetime.date:
        return self.published_on or self.date


@dataclass(frozen=True)
class NewsItem:
    """An information or a survey ("sondage") from the school."""

    id: str
    title: str
    author: str
    date: datetime.date
    category: str
    content: str  # plain text
    audience: frozenset[PersonKind]
    is_survey: bool = False
    question: str = ""
    choices: tuple[str, ...] = ()

    @property
    def created_at(self) -> datetime.datetime:
        """When it was written (8:00 on its date): nobody sees it before."""
        return datetime.datetime.combine(self.date, datetime.time(8))


@dataclass(frozen=True)
class Message:
    author: str  # a display name
    sent_at: datetime.datetime
    content: str


@dataclass(frozen=True)
class Discussion:
    id: str
    subject: str
    participant_ids: tuple[str, ...]  # Person ids
    messages: tuple[Message, ...]

    def as_of(self, now: datetime.datetime) -> Discussion | None:
        """The discussion as it stood at `now`: its messages sent by then (None: not started)."""
        sent = tuple(m for m in self.messages if m.sent_at <= now)
        if len(sent) == len(self.messages):
            return self
        return Discussion(self.id, self.subject, self.participant_ids, sent) if sent else None


@dataclass(frozen=True)
class WeeklyLesson:
    """One slot of the weekly timetable; `SchoolData.lessons` applies it to school days."""

    id: str
    weekday: int  # 0 Monday .. 4 Friday
    start: datetime.time
    end: datetime.time
    subject_id: str
    teacher_id: str
    room_id: str
    class_id: str = ""  # the class, also for a lesson of one of its groups
    group_id: str = ""


@dataclass(frozen=True)
class Holiday:
    name: str  # "Vacances de la Toussaint"
    start: datetime.date
    end: datetime.date  # exclusive: the day classes resume


_DAY = datetime.timedelta(days=1)
TEACHER_ABSENT = "Prof. absent"
CANCELLED = "Cours annulé"


@dataclass(frozen=True)
class SchoolData:
    """Everything a base holds about the school's life in one school year.

    The weekly timetable is stored once (`timetable`) and applied to school days on demand,
    with its exceptions (a teacher absent for a day, a lesson cancelled).
    """

    school_year: str
    first_monday: datetime.date  # Monday of the week containing 1 September ("PremierLundi")
    periods: tuple[Period, ...] = ()  # 3 trimestres; a period's `end` is its last day
    subjects: tuple[Subject, ...] = ()
    rooms: tuple[Room, ...] = ()
    classes: tuple[SchoolClass, ...] = ()
    groups: tuple[Group, ...] = ()
    teachers: tuple[Teacher, ...] = ()
    students: tuple[Student, ...] = ()
    responsables: tuple[Responsable, ...] = ()
    staff: tuple[Person, ...] = ()  # vie scolaire + personnels
    homework: tuple[Homework, ...] = ()
    evaluations: tuple[Evaluation, ...] = ()
    news: tuple[NewsItem, ...] = ()
    discussions: tuple[Discussion, ...] = ()
    timetable: tuple[WeeklyLesson, ...] = ()
    holidays: tuple[Holiday, ...] = ()
    days_off: frozenset[datetime.date] = frozenset()  # public holidays
    classes_start: datetime.date | None = None  # first day of classes
    classes_end: datetime.date | None = None  # the day after the last day of classes
    teacher_absences: frozenset[tuple[str, datetime.date]] = frozenset()  # (teacher id, day)
    cancellations: frozenset[tuple[str, datetime.date]] = frozenset()  # (weekly lesson id, day)
    vie_scolaire: VieScolaire = field(default_factory=VieScolaire)  # absences, punitions…
    competences: tuple[CompetenceEvaluation, ...] = ()  # évaluations de compétences

    # -- lookups ---------------------------------------------------------------------------

    def person(self, login: str) -> Person | None:
        return self._by_login.get(login)

    def people_of(self, kind: PersonKind) -> tuple[Person, ...]:
        by_kind: dict[PersonKind, tuple[Person, ...]] = {
            PersonKind.ELEVE: self.students,
            PersonKind.RESPONSABLE: self.responsables,
            PersonKind.PROFESSEUR: self.teachers,
        }
        if kind in by_kind:
            return by_kind[kind]
        return tuple(p for p in self.staff if p.kind is kind)

    def person_by_id(self, person_id: str) -> Person | None:
        return self._by_id.get(person_id)

    def is_school_day(self, day: datetime.date) -> bool:
        if self.classes_start is None or self.classes_end is None:
            return False
        if not self.classes_start <= day < self.classes_end or day.weekday() >= 5:
            return False
        if day in self.days_off:
            return False
        return not any(h.start <= day < h.end for h in self.holidays)

    def week_of(self, day: datetime.date) -> int:
        """PRONOTE's week number: 1 for the week of `first_monday`."""
        return 1 + (day - self.first_monday).days // 7

    def lessons(self, person_id: str, start: datetime.date, end: datetime.date) -> list[Lesson]:
        """A student's class and group lessons, or a teacher's, on days in [start, end)."""
        weekly = self._weekly_by_person.get(person_id, ())
        if not weekly:
            return []
        lessons: list[Lesson] = []
        day = start
        while day < end:
            if self.is_school_day(day):
                for slot in weekly[day.weekday()]:
                    lessons.append(self._lesson_on(slot, day))
            day += _DAY
        return lessons

    def weekly_lessons(self, person_id: str, weekday: int) -> list[WeeklyLesson]:
        """A student's or teacher's slots of the weekly timetable on a weekday, by time."""
        weekly = self._weekly_by_person.get(person_id)
        return weekly[weekday] if weekly else []

    def _lesson_on(self, slot: WeeklyLesson, day: datetime.date) -> Lesson:
        status, cancelled = "", False
        if (slot.teacher_id, day) in self.teacher_absences:
            status, cancelled = TEACHER_ABSENT, True
        elif (slot.id, day) in self.cancellations:
            status, cancelled = CANCELLED, True
        return Lesson(
            id=f"{slot.id}-{day:%Y%m%d}",
            start=datetime.datetime.combine(day, slot.start),
            end=datetime.datetime.combine(day, slot.end),
            subject_id=slot.subject_id,
            teacher_id=slot.teacher_id,
            room_id=slot.room_id,
            class_id="" if slot.group_id else slot.class_id,  # a class, or one of its groups
            group_id=slot.group_id,
            status=status,
            cancelled=cancelled,
        )

    def homework_for(
        self, student_id: str, start: datetime.date, end: datetime.date
    ) -> list[Homework]:
        """The homework of a student's class due on days in [start, end)."""
        student = self._by_id.get(student_id)
        if not isinstance(student, Student):
            return []
        items = self._homework_by_class.get(student.class_id, [])
        dues = [h.due_on for h in items]
        return items[bisect.bisect_left(dues, start) : bisect.bisect_left(dues, end)]

    def evaluations_for(self, student_id: str, period_id: str) -> list[Evaluation]:
        """The evaluations of a period that marked this student (present or absent)."""
        student = self._by_id.get(student_id)
        if not isinstance(student, Student):
            return []
        return [
            e
            for e in self._evaluations_by_class.get(student.class_id, [])
            if e.period_id == period_id and student_id in e.marks
        ]

    def class_evaluations(self, class_id: str, period_id: str) -> list[Evaluation]:
        """The evaluations of a period for a class and its groups (every mark, any date)."""
        return [e for e in self._evaluations_by_class.get(class_id, []) if e.period_id == period_id]

    def news_for(self, person: Person) -> list[NewsItem]:
        return [item for item in self.news if person.kind in item.audience]

    def discussions_for(self, person_id: str) -> list[Discussion]:
        return self._discussions_by_person.get(person_id, [])

    # -- indexes, built on first use (frozen dataclass: cached_property writes __dict__) ----

    @functools.cached_property
    def _by_id(self) -> dict[str, Person]:
        people: list[Person] = [*self.teachers, *self.students, *self.responsables, *self.staff]
        return {p.id: p for p in people}

    @functools.cached_property
    def _by_login(self) -> dict[str, Person]:
        return {p.login: p for p in self._by_id.values()}

    @functools.cached_property
    def _weekly_by_person(self) -> dict[str, tuple[list[WeeklyLesson], ...]]:
        by_class: dict[str, list[WeeklyLesson]] = defaultdict(list)
        by_group: dict[str, list[WeeklyLesson]] = defaultdict(list)
        by_teacher: dict[str, list[WeeklyLesson]] = defaultdict(list)
        for slot in self.timetable:
            if slot.group_id:
                by_group[slot.group_id].append(slot)
            else:
                by_class[slot.class_id].append(slot)
            by_teacher[slot.teacher_id].append(slot)

        def per_weekday(slots: list[WeeklyLesson]) -> tuple[list[WeeklyLesson], ...]:
            days: tuple[list[WeeklyLesson], ...] = tuple([] for _ in range(7))
            for slot in sorted(slots, key=lambda s: (s.weekday, s.start)):
                days[slot.weekday].append(slot)
            return days

        index = {t: per_weekday(slots) for t, slots in by_teacher.items()}
        for student in self.students:
            slots = list(by_class.get(student.class_id, []))
            for group_id in student.group_ids:
                slots.extend(by_group.get(group_id, []))
            index[student.id] = per_weekday(slots)
        return index

    @functools.cached_property
    def _homework_by_class(self) -> dict[str, list[Homework]]:
        index: dict[str, list[Homework]] = defaultdict(list)
        for item in sorted(self.homework, key=lambda h: (h.due_on, h.id)):
            index[item.class_id].append(item)
        return dict(index)

    @functools.cached_property
    def _evaluations_by_class(self) -> dict[str, list[Evaluation]]:
        index: dict[str, list[Evaluation]] = defaultdict(list)
        for evaluation in self.evaluations:
            index[evaluation.class_id].append(evaluation)
        return dict(index)

    @functools.cached_property
    def _discussions_by_person(self) -> dict[str, list[Discussion]]:
        index: dict[str, list[Discussion]] = defaultdict(list)
        for discussion in self.discussions:
            for person_id in discussion.participant_ids:
                index[person_id].append(discussion)
        return dict(index)
