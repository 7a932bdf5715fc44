"""The parts of a synthetic school computed on read: timetable changes, menus, contact
details, report cards, iCal tokens (their protocol is tested with the real clients in
tests/integration/test_pronote_net_year_content.py)."""

from __future__ import annotations

import dataclasses
import datetime

import pytest

from vm_agent.domain import bulletins, ical_tokens, synthetic, synthetic_menus
from vm_agent.domain.bases import new_base
from vm_agent.domain.counters import BaseCounters
from vm_agent.domain.school_data import SchoolData
from vm_agent.domain.synthetic_contacts import contact_of, parents_of

YEAR = "2026-2027"
EXAMPLE = BaseCounters(professeurs=35, matieres=46, classes=16, groupes=60, eleves=422, salles=38)


@pytest.fixture(scope="module")
def school() -> SchoolData:
    return synthetic.generate("0750655E", YEAR, EXAMPLE)


def year(school: SchoolData, person_id: str) -> list:  # type: ignore[type-arg]
    assert school.classes_start is not None and school.classes_end is not None
    return school.lessons(person_id, school.classes_start, school.classes_end)


def test_moved_lessons_and_room_changes_double_book_nobody(school: SchoolData) -> None:
    moved = changed = 0
    rooms_at: dict[tuple[datetime.datetime, str], str] = {}
    for teacher in school.teachers:
        lessons = year(school, teacher.id)
        taking_place = [x for x in lessons if not x.cancelled]
        starts = [x.start for x in taking_place]
        assert len(starts) == len(set(starts)), f"{teacher.id} is double-booked"
        for lesson in taking_place:
            if lesson.room_id:
                other = rooms_at.setdefault((lesson.start, lesson.room_id), lesson.id)
                assert other == lesson.id, f"room {lesson.room_id} twice at {lesson.start}"
        for lesson in lessons:
            if lesson.id.endswith("-D"):
                moved += 1
                slot = next(x for x in lessons if x.id == lesson.id.removesuffix("-D"))
                assert (slot.status, slot.cancelled) == ("Cours déplacé", True)
                assert lesson.start.date() == slot.start.date() and lesson.start.hour >= 17
                assert (lesson.status, lesson.cancelled) == ("Cours déplacé", False)
            elif lesson.status == "Changement de salle":
                changed += 1
    assert moved > 0 and changed > 0


def test_menus_follow_school_days_and_the_internat(school: SchoolData) -> None:
    monday = datetime.date(2026, 10, 5)
    days = [monday + datetime.timedelta(days=i) for i in range(7)]
    meals = {day: synthetic_menus.meals_of(school, day) for day in days}
    assert [bool(meals[d]) for d in days] == [True, True, False, True, True, False, False]
    assert all(m.kind == synthetic_menus.LUNCH for ms in meals.values() for m in ms)
    assert not synthetic_menus.has_internat(school)  # a collège
    assert synthetic_menus.meals_of(school, datetime.date(2026, 11, 11)) == ()  # Armistice
    assert synthetic_menus.meals_of(school, monday) == meals[monday]  # the same each time
    lycees = []
    for seed in ("0136000B", "0690001A", "0310001B", "0330001C", "0590001D", "0670001E",
                 "0440001F", "0060001G", "0130002H", "0750002J"):  # fmt: skip
        data = synthetic.roster(seed, YEAR, EXAMPLE)
        if any(c.level == "TLE" for c in data.classes):
            lycees.append(data)
    with_dinner = [d for d in lycees if synthetic_menus.has_internat(d)]
    assert with_dinner and len(with_dinner) < len(lycees)  # some lycées have an internat
    for data in with_dinner:
        served = synthetic_menus.meals_of(data, monday)
        assert [m.kind for m in served] == [synthetic_menus.LUNCH, synthetic_menus.DINNER]


def test_contacts_are_obviously_synthetic_and_families_share_a_home(school: SchoolData) -> None:
    student = next(s for s in school.students if parents_of(school, s.id))
    parent = parents_of(school, student.id)[0]
    mine, theirs = contact_of(school, student), contact_of(school, parent)
    assert mine.email.endswith("@example.net") and mine.mobile.startswith("06 00 ")
    assert len(mine.ine) == 11 and mine.ine[:10].isdigit() and theirs.ine == ""
    assert (mine.address, mine.postal_code, mine.city) == (
        theirs.address, theirs.postal_code, theirs.city,
    )  # fmt: skip
    assert mine.postal_code.startswith("75") and mine.city == "Paris"  # UAI 075…
    assert mine.email != theirs.email


def test_a_report_card_counts_the_marks_given_so_far(school: SchoolData) -> None:
    student = school.students[0]
    first = school.periods[0]
    assert bulletins.report_card(school, student, school.periods[1], first.end) is None
    mid = first.start + (first.end - first.start) / 2
    early = bulletins.report_card(school, student, first, mid)
    full = bulletins.report_card(school, student, first, first.end)
    assert early is not None and full is not None
    given = [e for e in school.evaluations_for(student.id, first.id) if e.date <= mid]
    assert {r.subject_id for r in early.subjects} == {e.subject_id for e in given}
    for report in full.subjects:
        items = [e for e in school.evaluations_for(student.id, first.id)
                 if e.subject_id == report.subject_id]  # fmt: skip
        assert report.student == bulletins.average(items, student.id)
        assert report.class_min is not None and report.class_max is not None
        assert report.class_min <= (report.student or report.class_min) <= report.class_max
    assert full.head_teacher and full.general_appreciation


def test_ical_tokens_name_a_person_and_cannot_be_forged() -> None:
    base = dataclasses.replace(new_base(YEAR, 1000.0), seed="0750655E")
    other = dataclasses.replace(new_base(YEAR, 1000.0), seed="0750655E")
    token = ical_tokens.token(base, "EL12")
    assert ical_tokens.person_id_of(base, token) == "EL12"
    assert ical_tokens.person_id_of(other, token) is None  # another base's
    assert ical_tokens.person_id_of(base, token.replace("EL12", "EL13")) is None
    assert ical_tokens.person_id_of(base, "") is None
