"""The school year's contents through the real pronotepy (2.15.7) and pawnote (1.6.2) against one
school's PRONOTE.net on a real socket: the timetable's life and holidays, the cahier de textes
with attachments downloaded, report cards and their PDF (parsed back with pypdf), menus,
personal details and the iCal link (parsed with icalendar), the teaching staff, the vie
scolaire's student file, and a parent switching between children. Each is checked against the
synthetic school."""

from __future__ import annotations

import base64
import datetime
import io
import ipaddress
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import icalendar
import pronotepy
import pypdf
import pytest

from tests.integration.harness import free_pool
from tests.integration.pronote_net_helpers import (
    NOW,
    Espaces,
    expected_average,
    french,
    pawnote_dir,
    run_pawnote,
    serve_espaces,
    visible,
)
from vm_agent.domain import synthetic_contents, synthetic_menus
from vm_agent.domain.school_data import Lesson, Period, Responsable, SchoolData, Student

TODAY = NOW.date()
CONTENT_SCRIPT = Path(__file__).parent / "pawnote" / "content.mjs"
PARENT_PASSWORD = "pw-parent-of-several"


@pytest.fixture
def espaces() -> Iterator[Espaces]:
    block = ipaddress.ip_network(free_pool(first_octets="127.131"))
    with serve_espaces(str(block[1])) as served:
        parent = family(served.data)
        served.school.issue_passwords([(parent.login, PARENT_PASSWORD)])
        yield served


def family(data: SchoolData) -> Responsable:
    return max(data.responsables, key=lambda r: len(r.child_ids))


def student_client(espaces: Espaces) -> pronotepy.Client:
    login = espaces.login_of("eleve.")
    return pronotepy.Client(espaces.url("eleve.html"), login, espaces.passwords[login])


def get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=30) as reply:
        return reply.status, reply.headers.get_content_type(), reply.read()


def pdf_text(body: bytes) -> str:
    assert body.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(body)).pages)


def subject_names(data: SchoolData) -> dict[str, str]:
    return {s.id: s.name for s in data.subjects}


def year_lessons(data: SchoolData, person_id: str) -> list[Lesson]:
    assert data.classes_start is not None and data.classes_end is not None
    return data.lessons(person_id, data.classes_start, data.classes_end)


def subject_average(
    data: SchoolData, student: Student, period: Period, subject: str
) -> float | None:
    """The student's average in a subject over the marks online today (PRONOTE's rules)."""
    items = [e for e in visible(data, student, period, TODAY) if e.subject_id == subject]
    return expected_average(items, student.id)


def test_the_timetable_shows_room_changes_and_moved_lessons(espaces: Espaces) -> None:
    client = student_client(espaces)
    data = espaces.data
    me = data.person(client.username)
    assert me is not None
    lessons = year_lessons(data, me.id)
    rooms = {r.id: r.name for r in data.rooms}
    changed = next(lesson for lesson in lessons if lesson.status == "Changement de salle")
    moved = next(lesson for lesson in lessons if lesson.id.endswith("-D"))
    for expected in (changed, moved):
        day = expected.start.date()
        seen = {lesson.id: lesson for lesson in client.lessons(day)}
        got = seen[expected.id]
        assert (got.status, got.canceled) == (expected.status, expected.cancelled)
        assert got.classroom == rooms[expected.room_id]
        assert (got.start, got.end) == (expected.start, expected.end)
    old_slot = client.lessons(moved.start.date())
    slot = next(lesson for lesson in old_slot if lesson.id == moved.id.removesuffix("-D"))
    assert (slot.status, slot.canceled) == ("Cours déplacé", True)
    assert moved.start.hour >= 17 > slot.start.hour  # after the day's last lesson


def test_past_lessons_carry_their_content_and_attachments_download(espaces: Espaces) -> None:
    client = student_client(espaces)
    data = espaces.data
    me = data.person(client.username)
    assert me is not None
    names = subject_names(data)
    past = [
        lesson
        for lesson in year_lessons(data, me.id)
        if lesson.start.date() <= TODAY and not lesson.cancelled
    ]
    with_file = next(
        lesson
        for lesson in past
        if (c := synthetic_contents.content_of(data, lesson.id, names[lesson.subject_id]))
        and any(not a.is_link for a in c.attachments)
    )
    content = synthetic_contents.content_of(data, with_file.id, names[with_file.subject_id])
    assert content is not None
    lesson = next(x for x in client.lessons(with_file.start) if x.id == with_file.id)
    got = lesson.content
    assert got is not None
    assert (got.title, got.description, got.category) == (
        content.title, content.description, content.category_label,
    )  # fmt: skip
    files = got.files
    assert [f.name for f in files] == [a.name for a in content.attachments]
    text = pdf_text(files[0].data)
    assert content.attachments[0].name.removesuffix(".pdf").split(" - ")[0] in text

    future = next(
        x for x in year_lessons(data, me.id) if x.start.date() > TODAY + datetime.timedelta(days=7)
    )
    assert all(x.content is None for x in client.lessons(future.start.date()))  # not yet given

    monday = TODAY - datetime.timedelta(days=TODAY.weekday())
    homework = client.homework(
        monday - datetime.timedelta(days=28), monday + datetime.timedelta(days=6)
    )
    by_id = {h.id: h for h in data.homework}
    expected_files = {
        h.id: [a.name for a in synthetic_contents.homework_attachments(data, by_id[h.id])]
        for h in homework
    }
    assert {h.id: [f.name for f in h.files] for h in homework} == expected_files
    assert any(expected_files.values()), "some homework carries an attachment"


def test_the_report_card_and_its_pdf_are_the_student_s(espaces: Espaces) -> None:
    client = student_client(espaces)
    data = espaces.data
    me = data.person(client.username)
    assert isinstance(me, Student)
    period = client.current_period
    report = period.report
    assert report is not None
    data_period = next(p for p in data.periods if p.id == period.id)
    given = {e.subject_id for e in visible(data, me, data_period, TODAY)}
    names = subject_names(data)
    assert sorted(s.name for s in report.subjects) == sorted(names[s] for s in given)
    by_name = {names[s]: s for s in given}
    for subject in report.subjects:
        expected = subject_average(data, me, data_period, by_name[subject.name])
        if expected is not None:
            assert subject.student_average == french(expected)
        assert subject.comments and subject.teachers
        if subject.min_average is not None and subject.max_average is not None:
            low, high = (
                float(x.replace(",", ".")) for x in (subject.min_average, subject.max_average)
            )
            assert low <= high
    assert len(report.comments) == 1 and report.comments[0]  # the head teacher's appréciation
    later = next(p for p in client.periods if p.start.date() > TODAY)
    assert later.report is None  # a period that has not started has no report card yet

    status, kind, body = get(client.generate_timetable_pdf(TODAY))
    assert (status, kind) == (200, "application/pdf")
    text = pdf_text(body)
    monday = TODAY - datetime.timedelta(days=TODAY.weekday())
    week = data.lessons(me.id, monday, monday + datetime.timedelta(days=7))
    assert all(names[lesson.subject_id] in text.replace("\n", " ") for lesson in week)


def test_menus_are_the_canteen_s(espaces: Espaces) -> None:
    client = student_client(espaces)
    data = espaces.data
    monday = TODAY - datetime.timedelta(days=TODAY.weekday())
    menus = client.menus(monday, monday + datetime.timedelta(days=13))
    expected = [
        (day, meal)
        for offset in range(14)
        for day in [monday + datetime.timedelta(days=offset)]
        for meal in synthetic_menus.meals_of(data, day)
    ]
    assert expected, "a fortnight of school has canteen days"
    assert [(m.date, m.is_lunch, m.is_dinner) for m in menus] == [
        (day, meal.kind == 0, meal.kind == 1) for day, meal in expected
    ]
    for menu, (_, meal) in zip(menus, expected, strict=True):
        courses = dict(meal.courses)
        assert [f.name for f in menu.main_meal or []] == [f.name for f in courses[1]]
        assert [f.name for f in menu.dessert or []] == [f.name for f in courses[4]]


def test_personal_details_ical_and_teaching_staff(espaces: Espaces) -> None:
    client = student_client(espaces)
    data = espaces.data
    me = data.person(client.username)
    assert isinstance(me, Student)
    info = client.info
    assert info.email.endswith("@example.net") and re.fullmatch(r"\+33600\d{6}", info.phone)
    assert re.fullmatch(r"\d{10}[A-Z]", info.ine_number) and len(info.address) == 8

    status, kind, body = get(client.export_ical())
    assert (status, kind) == (200, "text/calendar")
    calendar = icalendar.Calendar.from_ical(body)
    events = calendar.walk("VEVENT")
    lessons = year_lessons(data, me.id)
    assert sorted(str(e["uid"]).split("-EL")[0] for e in events) == sorted(x.id for x in lessons)
    cancelled = {str(e["uid"]).split("-EL")[0] for e in events if str(e["status"]) == "CANCELLED"}
    assert cancelled == {x.id for x in lessons if x.cancelled}
    first = min(events, key=lambda e: e.decoded("dtstart"))
    assert first.decoded("dtstart").replace(tzinfo=None) == min(x.start for x in lessons)
    bad = client.export_ical().replace("icalsecurise=", "icalsecurise=x")
    with pytest.raises(urllib.error.HTTPError):
        get(bad)

    staff = client.get_teaching_staff()
    teachers = {
        s.teacher_id
        for s in data.timetable
        if (s.group_id in me.group_ids if s.group_id else s.class_id == me.class_id)
    }
    assert {t.name for t in staff if t.type == "teacher"} == {
        p.display_name for t in teachers if (p := data.person_by_id(t)) is not None
    }
    assert all(t.subjects for t in staff if t.type == "teacher")


def test_a_parent_switches_child_and_every_call_follows(espaces: Espaces) -> None:
    data = espaces.data
    parent = family(data)
    assert len(parent.child_ids) > 1
    client = pronotepy.ParentClient(espaces.url("parent.html"), parent.login, PARENT_PASSWORD)
    second = data.person_by_id(parent.child_ids[1])
    assert isinstance(second, Student)
    client.set_child(client.children[1])
    assert client.children[1].name == second.display_name
    monday = TODAY - datetime.timedelta(days=TODAY.weekday())
    lessons = client.lessons(monday, monday + datetime.timedelta(days=6))
    assert {x.id for x in lessons} == {
        x.id for x in data.lessons(second.id, monday, monday + datetime.timedelta(days=7))
    }
    period = client.current_period
    data_period = next(p for p in data.periods if p.id == period.id)
    assert {g.id for g in period.grades} == {
        e.id for e in visible(data, second, data_period, TODAY)
    }
    report = period.report
    assert report is not None
    child_info = client.children[1]
    assert child_info.email.endswith("@example.net") and re.fullmatch(
        r"\d{10}[A-Z]", child_info.ine_number
    )
    assert child_info.email != client.children[0].email
    status, _, body = get(client.export_ical())
    assert status == 200
    calendar = icalendar.Calendar.from_ical(body)
    assert {str(e["uid"]).split("-EL")[0] for e in calendar.walk("VEVENT")} == {
        x.id for x in year_lessons(data, second.id)
    }


def test_vie_scolaire_reads_a_student_s_file(espaces: Espaces) -> None:
    login = espaces.login_of("cpe.")
    client = pronotepy.VieScolaireClient(
        espaces.url("viescolaire.html"), login, espaces.passwords[login]
    )
    data = espaces.data
    student = client.classes[0].students()[0]
    expected = data.person_by_id(student.id)
    assert isinstance(expected, Student)
    identity = student.identity
    assert (
        identity.last_name == expected.last_name and identity.date_of_birth == expected.birth_date
    )
    guardians = student.guardians
    parents = [r for r in data.responsables if expected.id in r.child_ids]
    assert sorted(g.full_name for g in guardians) == sorted(p.display_name for p in parents)
    assert all(g.is_legal and g.identity.email for g in guardians)


def test_pawnote_reads_the_year_s_contents(espaces: Espaces, tmp_path: Path) -> None:
    modules = pawnote_dir(tmp_path)
    data = espaces.data
    login = espaces.login_of("eleve.")
    me = data.person(login)
    assert isinstance(me, Student)
    week = data.week_of(TODAY) - 1  # last week: every lesson is past
    result = run_pawnote(
        modules, CONTENT_SCRIPT, url=espaces.url(""), kind="STUDENT", username=login,
        password=espaces.passwords[login], week=week, menuDate=f"{TODAY}T12:00:00Z", fetch=True,
    )  # fmt: skip
    assert "error" not in result, result
    holidays = sorted(
        [(h.name, h.start) for h in data.holidays] + [("", d) for d in data.days_off],
        key=lambda item: item[1],
    )
    assert [h["start"][:10] for h in result["holidays"]] == [str(d) for _, d in holidays]
    assert [h["name"] for h in result["holidays"] if h["start"] != h["end"]] == [
        name for name, _ in holidays if name
    ]
    names = subject_names(data)
    monday = data.first_monday + datetime.timedelta(days=7 * (week - 1))
    expected = {}
    for lesson in data.lessons(me.id, monday, monday + datetime.timedelta(days=7)):
        content = synthetic_contents.content_of(data, lesson.id, names[lesson.subject_id])
        if content is not None and not (lesson.cancelled and lesson.status == "Cours déplacé"):
            expected[lesson.id] = content
    assert {r["lesson"]: r["contents"][0]["title"] for r in result["resources"]} == {
        k: c.title for k, c in expected.items()
    }
    if "file" in result:
        assert result["file"]["status"] == 200
        assert pdf_text(base64.b64decode(result["file"]["base64"]))
    book = result["gradebook"]
    period = next(p for p in data.periods if p.start <= TODAY <= p.end)
    for subject in book["subjects"]:
        subject_id = next(k for k, v in names.items() if v == subject["name"])
        expected_avg = subject_average(data, me, period, subject_id)
        if expected_avg is not None:
            assert subject["student"] == pytest.approx(expected_avg, abs=0.01)
    assert result["gradebookFile"]["status"] == 200
    text = pdf_text(base64.b64decode(result["gradebookFile"]["base64"]))
    assert me.display_name in text and period.name in text
    assert all(s["name"] in text and s["assessments"][0] in text for s in book["subjects"])
    days = [d for d in result["menus"] if d["lunch"]]
    monday_today = TODAY - datetime.timedelta(days=TODAY.weekday())
    lunches = [
        (day, meal) for offset in range(7)
        for day in [monday_today + datetime.timedelta(days=offset)]
        for meal in synthetic_menus.meals_of(data, day) if meal.kind == 0
    ]  # fmt: skip
    assert [d["lunch"]["main"] for d in days] == [
        [f.name for f in dict(m.courses)[1]] for _, m in lunches
    ]
    assert result["account"]["email"].endswith("@example.net")
    assert result["ical"]["status"] == 200
    calendar = icalendar.Calendar.from_ical(base64.b64decode(result["ical"]["base64"]))
    assert len(calendar.walk("VEVENT")) == len(year_lessons(data, me.id))


def test_pawnote_parent_uses_a_child(espaces: Espaces, tmp_path: Path) -> None:
    modules = pawnote_dir(tmp_path)
    data = espaces.data
    parent = family(data)
    second = data.person_by_id(parent.child_ids[1])
    assert isinstance(second, Student)
    week = data.week_of(TODAY)
    result = run_pawnote(
        modules, CONTENT_SCRIPT, url=espaces.url(""), kind="PARENT", username=parent.login,
        password=PARENT_PASSWORD, week=week, child=1, menuDate=f"{TODAY}T12:00:00Z", fetch=True,
    )  # fmt: skip
    assert "error" not in result, result
    assert result["name"] == second.display_name
    monday = TODAY - datetime.timedelta(days=TODAY.weekday())
    assert {x["id"] for x in result["lessons"]} == {
        x.id for x in data.lessons(second.id, monday, monday + datetime.timedelta(days=7))
    }
    period = next(p for p in data.periods if p.start <= TODAY <= p.end)
    assert set(result["grades"]) == {e.id for e in visible(data, second, period, TODAY)}
    text = pdf_text(base64.b64decode(result["gradebookFile"]["base64"]))
    assert second.display_name in text
    calendar = icalendar.Calendar.from_ical(base64.b64decode(result["ical"]["base64"]))
    assert len(calendar.walk("VEVENT")) == len(year_lessons(data, second.id))


def test_files_live_with_their_session_and_bad_requests_are_refused(espaces: Espaces) -> None:
    client = student_client(espaces)
    url = client.generate_timetable_pdf(TODAY)
    assert get(url)[0] == 200
    other = student_client(espaces)
    elsewhere = re.sub(r"Session=\d+", f"Session={other.attributes['h']}", url)
    with pytest.raises(urllib.error.HTTPError) as refused:
        get(elsewhere)  # a link made for another page's key
    assert refused.value.code == 404 and "fichier indisponible" in refused.value.read().decode()
    with pytest.raises(pronotepy.PronoteAPIError):
        client.post("GenerationPDF", 16, {"genreGenerationPDF": 7})
    future = {"cahierDeTextes": {"N": f"CT-W1-{TODAY + datetime.timedelta(days=7):%Y%m%d}"}}
    with pytest.raises(pronotepy.PronoteAPIError, match="Contenu introuvable"):
        client.post("donneesContenusCDT", 89, future)
    espaces.clock.advance(601)  # the page expires after 600 s idle
    with pytest.raises(urllib.error.HTTPError) as expired:
        get(url)
    assert expired.value.code == 404
