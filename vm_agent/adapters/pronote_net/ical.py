"""`/pronote/ical/<name>.ics?icalsecurise=<token>&version=…&param=…`: a person's timetable for
the school year as iCalendar (RFC 5545, made with the `icalendar` library), fetched without a
session by calendar applications. The URL is what pronotepy `export_ical` (clients.py:666-683)
and pawnote `timetableICalURL` (src/api/helpers/ical.ts) build from `PageInfosPerso`'s
`iCal.liste.V[0].paramICal`. Spec: docs/pronote-net/people.md.
"""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import icalendar

from vm_agent.domain.school_data import Person, SchoolData

PARIS = ZoneInfo("Europe/Paris")
PRODID = "-//Index Education//PRONOTE - Simulation pronote-dc//FR"


def timetable_calendar(
    school: SchoolData, person: Person, uai: str, stamp: datetime.datetime
) -> bytes:
    """Every lesson of the year (cancelled ones with STATUS:CANCELLED), Europe/Paris times."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", f"Emploi du temps - {person.display_name}")
    subjects = {s.id: s.name for s in school.subjects}
    rooms = {r.id: r.name for r in school.rooms}
    teachers = {t.id: t.display_name for t in school.teachers}
    start = school.classes_start or school.first_monday
    end = school.classes_end or start
    for lesson in school.lessons(person.id, start, end):
        event = icalendar.Event()
        event.add("uid", f"{lesson.id}-{person.id}@{uai.lower()}.pronote-dc.example.net")
        event.add("dtstamp", stamp)
        event.add("dtstart", lesson.start.replace(tzinfo=PARIS))
        event.add("dtend", lesson.end.replace(tzinfo=PARIS))
        event.add("summary", subjects.get(lesson.subject_id, lesson.subject_id))
        if lesson.room_id in rooms:
            event.add("location", rooms[lesson.room_id])
        lines = [teachers.get(lesson.teacher_id, ""), lesson.status]
        event.add("description", "\n".join(line for line in lines if line))
        event.add("status", "CANCELLED" if lesson.cancelled else "CONFIRMED")
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())
