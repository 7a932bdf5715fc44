"""The weekly timetable of a synthetic school: a greedy placement that never double-books.

Each class gets its weekly hours per subject, from one teacher per (class, subject), in a
room free at that hour. Alternative groups (LV2 languages, options) are taught at the same
time by different teachers; half-classes one after the other. An hour that finds no free
teacher or room is dropped, so any resource counters give a valid timetable.
"""

from __future__ import annotations

import datetime
import random
from collections import defaultdict
from dataclasses import dataclass, field

from vm_agent.domain.school_data import WeeklyLesson

# Monday, Tuesday, Thursday, Friday 8h-12h and 13h-17h; Wednesday morning only.
_HOURS = (8, 9, 10, 11, 13, 14, 15, 16)
SLOTS = tuple((day, hour) for day in range(5) for hour in _HOURS if day != 2 or hour < 12)
LESSON_MINUTES = 55
MAX_TEACHER_HOURS = 22

Slot = tuple[int, int]


@dataclass(frozen=True)
class Course:
    """Hours to place for a class: the whole class, or groups taught together."""

    class_id: str
    hours: int
    parts: tuple[tuple[str, str], ...]  # (group id or "" for the whole class, subject id)


@dataclass
class _Planner:
    rng: random.Random
    teachers_by_subject: dict[str, list[str]]
    room_ids: list[str]
    special_room_by_subject: dict[str, str]
    class_busy: dict[str, set[Slot]] = field(default_factory=lambda: defaultdict(set))
    teacher_busy: dict[str, set[Slot]] = field(default_factory=lambda: defaultdict(set))
    room_busy: dict[Slot, set[str]] = field(default_factory=lambda: defaultdict(set))
    teacher_hours: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    class_slots: dict[str, list[Slot]] = field(default_factory=dict)
    lessons: list[WeeklyLesson] = field(default_factory=list)

    def teacher_for(self, subject_id: str, hours: int, taken: set[str]) -> str | None:
        candidates = [t for t in self.teachers_by_subject.get(subject_id, []) if t not in taken]
        if not candidates:
            return None
        teacher = min(candidates, key=lambda t: self.teacher_hours[t])
        if self.teacher_hours[teacher] + hours > MAX_TEACHER_HOURS:
            return None
        self.teacher_hours[teacher] += hours
        return teacher

    def rooms_at(self, slot: Slot, subject_ids: list[str]) -> list[str] | None:
        if not self.room_ids:
            return [""] * len(subject_ids)
        busy = set(self.room_busy[slot])
        rooms: list[str] = []
        for subject_id in subject_ids:
            special = self.special_room_by_subject.get(subject_id)
            room = special if special and special not in busy else None
            if room is None:
                room = next((r for r in self.room_ids if r not in busy), None)
            if room is None:
                return None
            busy.add(room)
            rooms.append(room)
        return rooms

    def place(self, course: Course) -> None:
        subjects = [subject for _, subject in course.parts]
        teachers: list[str] = []
        for subject in subjects:
            teacher = self.teacher_for(subject, course.hours, set(teachers))
            if teacher is None:
                return
            teachers.append(teacher)
        days_used: set[int] = set()
        slots = self.class_slots.setdefault(course.class_id, self.rng.sample(SLOTS, len(SLOTS)))
        for _ in range(course.hours):
            for slot in sorted(slots, key=lambda s: s[0] in days_used):
                if slot in self.class_busy[course.class_id]:
                    continue
                if any(slot in self.teacher_busy[t] for t in teachers):
                    continue
                rooms = self.rooms_at(slot, subjects)
                if rooms is None:
                    continue
                self._book(course, slot, teachers, course.parts, rooms)
                days_used.add(slot[0])
                break

    def _book(
        self,
        course: Course,
        slot: Slot,
        teachers: list[str],
        parts: tuple[tuple[str, str], ...],
        rooms: list[str],
    ) -> None:
        self.class_busy[course.class_id].add(slot)
        day, hour = slot
        start = datetime.time(hour, 0)
        end = datetime.time(hour, LESSON_MINUTES)
        for teacher, (group, subject), room in zip(teachers, parts, rooms, strict=True):
            self.teacher_busy[teacher].add(slot)
            if room:
                self.room_busy[slot].add(room)
            self.lessons.append(
                WeeklyLesson(
                    id=f"W{len(self.lessons) + 1}",
                    weekday=day,
                    start=start,
                    end=end,
                    subject_id=subject,
                    teacher_id=teacher,
                    room_id=room,
                    class_id=course.class_id,
                    group_id=group,
                )
            )


def build_timetable(
    rng: random.Random,
    courses_by_class: list[list[Course]],
    teachers_by_subject: dict[str, list[str]],
    room_ids: list[str],
    special_room_by_subject: dict[str, str],
) -> tuple[WeeklyLesson, ...]:
    """Courses of each class, the hardest first; classes take turns so all get teachers."""
    planner = _Planner(rng, teachers_by_subject, room_ids, special_room_by_subject)
    rounds = max((len(courses) for courses in courses_by_class), default=0)
    for rank in range(rounds):
        for courses in courses_by_class:
            if rank < len(courses):
                planner.place(courses[rank])
    return tuple(planner.lessons)
