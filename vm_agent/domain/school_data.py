"""What a base holds about the school's life: people, timetable, homework, grades, news.

Plain frozen dataclasses, the shared vocabulary between the synthetic school generator
(`vm_agent.domain.synthetic`) and whoever reads a school's data (PRONOTE.net, the console's
counters). Ids are strings, unique within one school (PRONOTE.net compares them as strings).
"""

from __future__ import annotations

import datetime
import enum
from dataclasses import dataclass, field


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


@dataclass(frozen=True)
class Evaluation:
    """A "devoir" with its marks: student id -> mark out of `out_of` (None: absent)."""

    id: str
    subject_id: str
    class_id: str
    period_id: str
    date: datetime.date
    out_of: float
    coefficient: float
    comment: str
    marks: dict[str, float | None] = field(default_factory=dict, hash=False, compare=False)


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
