"""The timetable's life beyond absences and cancellations: room changes and moved lessons.

Drawn per (weekly slot, day) from the school's seed (`synthetic_draw`), so applying them
needs nothing but the slot and the day. As PRONOTE shows them (spec in
docs/pronote-net/timetable.md):

- a room change keeps the lesson where it is, in another room free at that hour, with the
  status "Changement de salle";
- a moved lesson leaves its slot cancelled with the status "Cours déplacé" and appears the
  same day after the last lesson, with the same status, not cancelled, under the id
  `<lesson id>-D`: at 17h00, or at 18h00, 19h00… when other lessons moved that day too (so
  nobody and no room is double-booked).

A lesson already cancelled (teacher absent, cancelled) is neither moved nor changed.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

from vm_agent.domain.synthetic_draw import draw

# What this module reads of `school_data`'s types (which call it: no import back).


class WeeklyLesson(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def weekday(self) -> int: ...
    @property
    def start(self) -> datetime.time: ...
    @property
    def room_id(self) -> str: ...


class _Room(Protocol):
    @property
    def id(self) -> str: ...


class SchoolData(Protocol):
    @property
    def seed(self) -> str: ...
    @property
    def rooms(self) -> Sequence[_Room]: ...
    @property
    def timetable(self) -> Sequence[WeeklyLesson]: ...


class _Lesson(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def start(self) -> datetime.datetime: ...
    @property
    def end(self) -> datetime.datetime: ...
    @property
    def cancelled(self) -> bool: ...


Lesson = TypeVar("Lesson", bound=_Lesson)

ROOM_CHANGE_PROBABILITY = 0.01
MOVED_PROBABILITY = 0.006
ROOM_CHANGED = "Changement de salle"
MOVED = "Cours déplacé"
MOVED_TO = datetime.time(17, 0)
MOVED_SUFFIX = "-D"


def occurrences(data: SchoolData, lesson: Lesson, slot: WeeklyLesson) -> list[Lesson]:
    """What the timetable shows for `lesson` (the weekly `slot` on one day): itself, itself
    in another room, or its cancelled slot and where it moved to."""
    if lesson.cancelled:
        return [lesson]
    day = lesson.start.date()
    if _moves(data, slot.id, day):
        moved_that_day = sorted(
            s.id for s in data.timetable if s.weekday == slot.weekday and _moves(data, s.id, day)
        )  # one after the other from 17h00, so two moved lessons never share an hour
        start = datetime.datetime.combine(day, MOVED_TO) + datetime.timedelta(
            hours=moved_that_day.index(slot.id)
        )
        moved = _replace(
            lesson,
            id=lesson.id + MOVED_SUFFIX,
            start=start,
            end=start + (lesson.end - lesson.start),
            status=MOVED,
        )
        return [_replace(lesson, status=MOVED, cancelled=True), moved]
    if data.rooms and draw(data.seed, "room", slot.id, day) < ROOM_CHANGE_PROBABILITY:
        room = _free_room(data, slot, day)
        if room:
            return [_replace(lesson, room_id=room, status=ROOM_CHANGED)]
    return [lesson]


def _replace(lesson: Lesson, **changes: Any) -> Lesson:
    return dataclasses.replace(lesson, **changes)  # type: ignore[type-var]


def _moves(data: SchoolData, slot_id: str, day: datetime.date) -> bool:
    return draw(data.seed, "moved", slot_id, day) < MOVED_PROBABILITY


def _free_room(data: SchoolData, slot: WeeklyLesson, day: datetime.date) -> str:
    """A room nobody uses at this hour, that day ("" when none is left): the rooms free in
    the weekly timetable, shared out among the lessons changing room at that hour."""
    same_hour = [s for s in data.timetable if s.weekday == slot.weekday and s.start == slot.start]
    busy = {s.room_id for s in same_hour}
    free = [r.id for r in data.rooms if r.id not in busy]
    changing = sorted(
        s.id for s in same_hour if draw(data.seed, "room", s.id, day) < ROOM_CHANGE_PROBABILITY
    )
    rank = changing.index(slot.id)
    if rank >= len(free):
        return ""
    offset = int(draw(data.seed, "room-to", slot.weekday, slot.start, day) * len(free))
    return free[(offset + rank) % len(free)]
