"""The cahier de textes of a synthetic school: what each lesson covered, and attachments.

A lesson (a weekly slot on one day) has a content with probability CONTENT_PROBABILITY,
drawn from the seed and the slot and day (`synthetic_draw`): title, description and one of
PRONOTE's categories (pawnote `src/models/resource-content-category.ts`). Some contents and
some homework carry an attachment: a file (served from `FichiersExternes/…` while the page's
session lives) or a link. Nothing is stored: the counters count the same draws over the year
(`count_entries`, `count_attachments`), and PRONOTE.net serves the ones of past lessons.

Ids: entry `CT-<slot>-<yyyymmdd>` (a cahier de textes), content `CO-…`, attachment of a
content `PJ-<slot>-<yyyymmdd>`, of a homework `PJT-<homework id>`.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from vm_agent.domain.school_data import Homework, SchoolData, WeeklyLesson
from vm_agent.domain.synthetic_changes import MOVED_SUFFIX
from vm_agent.domain.synthetic_draw import draw, pick

CONTENT_PROBABILITY = 0.75
ATTACHMENT_PROBABILITY = 0.12
HOMEWORK_ATTACHMENT_PROBABILITY = 0.1
LINK_PROBABILITY = 0.3
# (genre, label): pawnote ResourceContentCategory; "Cours" is the usual one.
CATEGORIES = (
    (1, "Cours"), (1, "Cours"), (1, "Cours"), (2, "Correction"), (5, "Travaux dirigés"),
    (6, "Travaux pratiques"), (4, "Interrogation orale"),
)  # fmt: skip
TITLES = ("Chapitre {n} : introduction", "Chapitre {n} : cours", "Chapitre {n} : exercices",
          "Chapitre {n} : synthèse", "Révisions", "Méthodologie")  # fmt: skip
DESCRIPTIONS = (
    "Lecture de l'introduction du chapitre {n} et mise en commun des idées.",
    "Cours : définitions et propriétés du chapitre {n}, exemples au tableau.",
    "Exercices d'application en autonomie puis correction collective.",
    "Travail en groupes sur un document, restitution à l'oral.",
    "Bilan du chapitre {n} : carte mentale à compléter.",
)
FILE_KINDS = ("Fiche d'exercices", "Cours", "Document", "Correction")
_DATE = "%Y%m%d"


@dataclass(frozen=True)
class Attachment:
    """A file (`url` empty: downloaded from FichiersExternes) or a link (`url`)."""

    id: str
    name: str
    url: str = ""

    @property
    def is_link(self) -> bool:
        return bool(self.url)


@dataclass(frozen=True)
class LessonContent:
    """What a lesson covered (one entry of the cahier de textes)."""

    entry_id: str  # the cahier de textes: CT-<slot>-<yyyymmdd>
    id: str  # the content: CO-<slot>-<yyyymmdd>
    title: str
    description: str
    category: int  # pawnote ResourceContentCategory
    category_label: str
    attachments: tuple[Attachment, ...]


def lesson_key(lesson_id: str) -> str:
    """`W12-20261006` for a lesson, also when it was moved (`W12-20261006-D`)."""
    return lesson_id.removesuffix(MOVED_SUFFIX)


def content_of(data: SchoolData, lesson_id: str, subject_name: str) -> LessonContent | None:
    """The content of a lesson (by its id), or None when the teacher wrote none."""
    key = lesson_key(lesson_id)
    if draw(data.seed, "content", key) >= CONTENT_PROBABILITY:
        return None
    chapter = 1 + int(draw(data.seed, "chapter", key) * 8)
    genre, label = pick(CATEGORIES, data.seed, "category", key)
    title = pick(TITLES, data.seed, "title", key).format(n=chapter)
    attachments: tuple[Attachment, ...] = ()
    if draw(data.seed, "attachment", key) < ATTACHMENT_PROBABILITY:
        attachments = (_attachment(data, f"PJ-{key}", subject_name, chapter),)
    return LessonContent(
        entry_id=f"CT-{key}",
        id=f"CO-{key}",
        title=title,
        description=pick(DESCRIPTIONS, data.seed, "description", key).format(n=chapter),
        category=genre,
        category_label=label,
        attachments=attachments,
    )


def homework_attachments(data: SchoolData, homework: Homework) -> tuple[Attachment, ...]:
    if draw(data.seed, "homework-attachment", homework.id) >= HOMEWORK_ATTACHMENT_PROBABILITY:
        return ()
    subject = next((s.name for s in data.subjects if s.id == homework.subject_id), "")
    return (_attachment(data, f"PJT-{homework.id}", subject, 0),)


def _attachment(data: SchoolData, attachment_id: str, subject: str, chapter: int) -> Attachment:
    topic = subject.title() if subject else "Document"
    if draw(data.seed, "link", attachment_id) < LINK_PROBABILITY:
        slug = "".join(c if c.isalnum() else "-" for c in topic.lower()).strip("-")
        return Attachment(
            attachment_id, f"Ressource en ligne - {topic}",
            f"https://ressources.example.net/{slug}/{attachment_id.lower()}",
        )  # fmt: skip
    kind = pick(FILE_KINDS, data.seed, "file-kind", attachment_id)
    suffix = f" - chapitre {chapter}" if chapter else ""
    return Attachment(attachment_id, f"{kind} {topic}{suffix}.pdf")


def attachment(data: SchoolData, attachment_id: str) -> Attachment | None:
    """The attachment with this id if the school has it (a content's or a homework's)."""
    if attachment_id.startswith("PJT-"):
        homework_id = attachment_id.removeprefix("PJT-")
        found = next((h for h in data.homework if h.id == homework_id), None)
        items = homework_attachments(data, found) if found is not None else ()
        return next((a for a in items if a.id == attachment_id), None)
    if not attachment_id.startswith("PJ-"):
        return None
    key = attachment_id.removeprefix("PJ-")
    slot_id, _, day_text = key.rpartition("-")
    slot = next((s for s in data.timetable if s.id == slot_id), None)
    try:
        day = datetime.datetime.strptime(day_text, _DATE).date()
    except ValueError:
        return None
    if slot is None or day.weekday() != slot.weekday or not data.is_school_day(day):
        return None
    subject = next((s.name for s in data.subjects if s.id == slot.subject_id), "")
    content = content_of(data, key, subject)
    return (
        next((a for a in content.attachments if a.id == attachment_id), None) if content else None
    )


def school_days(data: SchoolData) -> list[datetime.date]:
    if data.classes_start is None or data.classes_end is None:
        return []
    count = (data.classes_end - data.classes_start).days
    days = (data.classes_start + datetime.timedelta(days=i) for i in range(count))
    return [day for day in days if data.is_school_day(day)]


def _keys(data: SchoolData) -> Iterable[str]:
    by_weekday: dict[int, list[WeeklyLesson]] = {}
    for slot in data.timetable:
        by_weekday.setdefault(slot.weekday, []).append(slot)
    for day in school_days(data):
        for slot in by_weekday.get(day.weekday(), []):
            yield f"{slot.id}-{day:{_DATE}}"


def count_entries(data: SchoolData) -> int:
    """Cahiers de textes of the year: the lessons with a content (the base counter)."""
    return sum(1 for key in _keys(data) if draw(data.seed, "content", key) < CONTENT_PROBABILITY)


def count_attachments(data: SchoolData, homework_ids: Iterable[str]) -> int:
    """Documents joints of the year: the contents' and the homework's attachments."""
    of_contents = sum(
        1
        for key in _keys(data)
        if draw(data.seed, "content", key) < CONTENT_PROBABILITY
        and draw(data.seed, "attachment", key) < ATTACHMENT_PROBABILITY
    )
    of_homework = sum(
        1
        for homework_id in homework_ids
        if draw(data.seed, "homework-attachment", homework_id) < HOMEWORK_ATTACHMENT_PROBABILITY
    )
    return of_contents + of_homework
