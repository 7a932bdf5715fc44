"""The timetable's life beyond absences and cancellations: room changes and moved lessons.

Drawn per (weekly slot, day) from the school's seed (`synthetic_draw`), so applying them
needs nothing but the slot and the day. As PRONOTE shows them (spec in
docs/pronote-net/timetable.md):

- a room change keeps the lesson where it is, in another room free at that hour, with the
  status "Changement de salle";
- a moved lesson leaves its slot cancelled with the status "Cours déplacé" and appears the
  same day at 17h00 (after the last lesson, so nobody is double-booked) with the same status,
  not cancelled, under the id `<lesson id>-D`.

A lesson already cancelled (teacher absent, cancelled) is neither moved nor changed.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import TYPE_CHECKING

from vm_agent.domain.synthetic_draw import draw

if TYPE_CHECKING:
    from vm_agent.domain.school_data import Lesson, SchoolData, WeeklyLesson

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
    if draw(data.seed, "moved", slot.id, day) < MOVED_PROBABILITY:
        start = datetime.datetime.combine(day, MOVED_TO)
        moved = dataclasses.replace(
            lesson,
            id=lesson.id + MOVED_SUFFIX,
            start=start,
            end=start + (lesson.end - lesson.start),
            status=MOVED,
        )
        return [dataclasses.replace(lesson, status=MOVED, cancelled=True), moved]
    if data.rooms and draw(data.seed, "room", slot.id, day) < ROOM_CHANGE_PROBABILITY:
        room = _free_room(data, slot, day)
        if room:
            return [dataclasses.replace(lesson, room_id=room, status=ROOM_CHANGED)]
    return [lesson]


def _free_room(data: SchoolData, slot: WeeklyLesson, day: datetime.date) -> str:
    """A room nobody uses at this weekly hour ("" when none is free)."""
    busy = {
        s.room_id for s in data.timetable if s.weekday == slot.weekday and s.start == slot.start
    }
    free = [r.id for r in data.rooms if r.id not in busy]
    if not free:
        return ""
    return free[int(draw(data.seed, "room-to", slot.id, day) * len(free))]
