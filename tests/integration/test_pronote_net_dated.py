"""PRONOTE.net serves the school year as it happens, read by the real pronotepy and pawnote:
today is the Clock's date in Paris, marks appear on their publication day (advancing the
clock shows exactly the new ones), averages follow PRONOTE's rules for the special marks,
optional and bonus marks; vie scolaire (PagePresence) and évaluations de compétences
(DernieresEvaluations) of a collège. Expected values are computed here from the synthetic
school's records with the rules written out again, not with the server's own code."""

from __future__ import annotations

import datetime
import ipaddress
import zoneinfo
from collections.abc import Iterator
from pathlib import Path

import pronotepy
import pytest

from tests.integration.harness import free_pool
from tests.integration.pronote_net_helpers import (
    PRONOTEPY_KINDS,
    Espaces,
    expected_average,
    french,
    pawnote_dir,
    run_pawnote,
    serve_espaces,
    visible,
)
from vm_agent.domain.school_data import (
    MarkKind,
    Period,
    Responsable,
    SchoolData,
    Student,
)

DATED_SCRIPT = Path(__file__).parent / "pawnote" / "dated.mjs"
COLLEGE = "0756000P"  # a collège: évaluations de compétences are the collège's
# Late in the first trimestre, when every kind of record has happened to someone.
NOW = datetime.datetime(2026, 11, 27, 18, 0, tzinfo=datetime.UTC)
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
PARIS_NOW = NOW.astimezone(PARIS).replace(tzinfo=None)  # 19:00 on the school's walls
PARIS_TODAY = PARIS_NOW.date()
PAWNOTE_KINDS = {kind: kind.value for kind in MarkKind}  # pawnote src/models/grade-kind.ts


@pytest.fixture
def espaces() -> Iterator[Espaces]:
    block = ipaddress.ip_network(free_pool(first_octets="127.82"))
    with serve_espaces(str(block[1]), uai=COLLEGE) as served:
        served.clock.advance_to(NOW.timestamp())
        yield served


# -- what the synthetic school says, with PRONOTE's rules written out ---------------------


def first_period(data: SchoolData) -> Period:
    return data.periods[0]


def paris_date(espaces: Espaces) -> datetime.date:
    return datetime.datetime.fromtimestamp(espaces.clock.now(), tz=PARIS).date()


def pick_student(data: SchoolData, day: datetime.date) -> Student:
    """A first child (pawnote's parent reads the first one) whose trimestre so far has a
    special mark, an absence, a delay and a punition."""
    period = first_period(data)
    firsts = {r.child_ids[0] for r in data.responsables if r.child_ids}
    end = datetime.datetime.combine(day, datetime.time.max)
    for student in data.students:
        if student.id not in firsts:
            continue
        absences, delays, punishments = data.vie_scolaire.of(student.id)
        marks = [e.marks[student.id] for e in visible(data, student, period, day)]
        if (
            any(isinstance(m, MarkKind) for m in marks)
            and any(a.start <= end for a in absences)
            and any(d.at <= end for d in delays)
            and any(p.given_at <= end and not p.is_sanction for p in punishments)
        ):
            return student
    raise AssertionError("the synthetic collège has a student with all of these")


def log_in(espaces: Espaces, student: Student) -> pronotepy.Client:
    espaces.school.issue_passwords([(student.login, "pw-dated-1")])
    return pronotepy.Client(espaces.url("eleve.html"), student.login, "pw-dated-1")


# -- the tests -----------------------------------------------------------------------------


def test_marks_and_averages_are_those_visible_on_the_clock_date(espaces: Espaces) -> None:
    data = espaces.data
    student = pick_student(data, PARIS_TODAY)
    client = log_in(espaces, student)
    period = client.current_period
    assert period.name == "Trimestre 1"
    expected = visible(data, student, first_period(data), PARIS_TODAY)
    hidden = [e for e in data.evaluations if student.id in e.marks and e not in expected]
    assert expected and hidden, "some marks are online, others not yet"
    grades = {g.id: g for g in period.grades}
    assert set(grades) == {e.id for e in expected}
    for evaluation in expected:
        mark = evaluation.marks[student.id]
        grade = grades[evaluation.id]
        assert grade.grade == (
            PRONOTEPY_KINDS[mark] if isinstance(mark, MarkKind) else french(mark)
        )
        assert (grade.is_optionnal, grade.is_bonus) == (evaluation.is_optional, evaluation.is_bonus)
    subjects = {s.id: s.name for s in data.subjects}
    own = {}
    for subject_id in {e.subject_id for e in expected}:
        own[subject_id] = expected_average(
            [e for e in expected if e.subject_id == subject_id], student.id
        )
    averages = {a.subject.name: a.student for a in period.averages}
    assert averages == {
        subjects[s]: french(a) if a is not None else "Absent" for s, a in own.items()
    }
    known = [a for a in own.values() if a is not None]
    assert period.overall_average == french(sum(known) / len(known))
    classmates = [s for s in data.students if s.class_id == student.class_id]
    overalls = []
    for mate in classmates:
        theirs = visible(data, mate, first_period(data), PARIS_TODAY)
        subject_averages = [
            a
            for sid in {e.subject_id for e in theirs}
            if (a := expected_average([e for e in theirs if e.subject_id == sid], mate.id))
            is not None
        ]
        if subject_averages:
            overalls.append(sum(subject_averages) / len(subject_averages))
    assert period.class_overall_average == french(sum(overalls) / len(overalls))
    later = {p.name: p for p in client.periods}
    for name in ("Trimestre 2", "Trimestre 3"):  # not started: no marks, no averages
        assert later[name].grades == [] and later[name].averages == []


def test_advancing_the_clock_shows_exactly_the_marks_of_the_elapsed_days() -> None:
    block = ipaddress.ip_network(free_pool(first_octets="127.82"))
    with serve_espaces(str(block[1]), uai=COLLEGE) as espaces:  # early October
        data = espaces.data
        login = espaces.login_of("eleve.")
        student = data.person(login)
        assert isinstance(student, Student)
        client = pronotepy.Client(espaces.url("eleve.html"), login, espaces.passwords[login])
        seen = {g.id for g in client.current_period.grades}
        day = paris_date(espaces)
        appeared = 0
        for _ in range(4):  # four steps of three days: a poller sees each new mark once
            espaces.clock.advance(3 * 86400)
            previous, day = day, paris_date(espaces)
            now = {g.id for g in client.current_period.grades}
            new = {
                e.id
                for e in visible(data, student, first_period(data), day)
                if previous < (e.published_on or e.date) <= day
            }
            assert now - seen == new and seen <= now
            appeared += len(new)
            seen = now
        assert appeared > 0


def test_today_is_the_date_in_paris_not_in_utc(espaces: Espaces) -> None:
    data = espaces.data
    student = pick_student(data, PARIS_TODAY)
    upcoming = sorted(
        (e.visible_from, e.period_id)
        for e in data.evaluations
        if student.id in e.marks and e.visible_from > PARIS_TODAY
    )
    tomorrow, period_id = upcoming[0]  # the next day some of the student's marks go online
    after_midnight = datetime.datetime.combine(tomorrow, datetime.time(0, 30), tzinfo=PARIS)
    assert after_midnight.astimezone(datetime.UTC).date() < tomorrow  # still "yesterday" in UTC
    espaces.clock.advance_to(after_midnight.timestamp())
    client = log_in(espaces, student)
    general = client.func_options["dataSec"]["data"]["General"]
    next_school_day = tomorrow  # JourOuvre is pawnote's nextBusinessDay
    while not data.is_school_day(next_school_day):
        next_school_day += datetime.timedelta(days=1)
    assert general["JourOuvre"]["V"] == next_school_day.strftime("%d/%m/%Y")
    assert client.last_connection == datetime.datetime.combine(tomorrow, datetime.time(0, 30))
    period = next(p for p in data.periods if p.id == period_id)
    got = {g.id for g in next(p for p in client.periods if p.id == period_id).grades}
    assert got == {e.id for e in visible(data, student, period, tomorrow)}
    assert any((e.published_on or e.date) == tomorrow for e in data.evaluations if e.id in got)


def test_pronotepy_reads_the_vie_scolaire_as_it_happened(espaces: Espaces) -> None:
    data = espaces.data
    student = pick_student(data, PARIS_TODAY)
    client = log_in(espaces, student)
    period = client.current_period
    end = PARIS_NOW  # Paris wall-clock time
    absences, delays, punishments = data.vie_scolaire.of(student.id)
    happened = [a for a in absences if a.start <= end]
    assert happened and len(happened) < len(absences), "the rest of the year is not there yet"
    served = {a.id: a for a in period.absences}
    assert set(served) == {a.id for a in happened}
    for absence in happened:
        got = served[absence.id]
        assert (got.from_date, got.to_date, got.justified) == (
            absence.start,
            absence.end,
            absence.justified,
        )
        assert got.reasons == ([absence.reason] if absence.reason else [])
        assert got.hours == f"{absence.minutes // 60}h{absence.minutes % 60:02d}"
    assert sorted((d.id, d.date, d.minutes) for d in period.delays) == sorted(
        (d.id, d.at, d.minutes) for d in delays if d.at <= end
    )
    punitions = [p for p in punishments if p.given_at <= end and not p.is_sanction]
    got_punitions = {p.id: p for p in period.punishments}
    assert set(got_punitions) == {p.id for p in punitions}
    for punition in punitions:
        got = got_punitions[punition.id]
        assert (got.nature, got.giver, got.circumstances, got.given) == (
            punition.nature,
            punition.giver_name,
            punition.circumstances,
            punition.given_at,
        )
        assert got.schedule[0].start == punition.scheduled_on if punition.scheduled_on else True
    counters = espaces.school.base_in_service.counters  # type: ignore[union-attr]
    office = data.vie_scolaire
    assert (counters.absences, counters.retards, counters.punitions, counters.sanctions) == (
        len(office.absences),
        len(office.delays),
        office.punitions,
        office.sanctions,
    )
    assert counters.absences > 0 and counters.punitions > 0 and counters.sanctions > 0


def test_pronotepy_reads_the_evaluations_de_competences(espaces: Espaces) -> None:
    data = espaces.data
    student = pick_student(data, PARIS_TODAY)
    client = log_in(espaces, student)
    expected = [
        c
        for c in data.competences
        if c.period_id == "P1" and c.date <= PARIS_TODAY and student.id in c.student_ids
    ]
    assert expected and any(c.date > PARIS_TODAY for c in data.competences if c.period_id == "P1")
    got = {e.id: e for e in client.current_period.evaluations}
    assert set(got) == {c.id for c in expected}
    for competence in expected:
        evaluation = got[competence.id]
        levels = competence.levels_of(student.id)
        assert levels is not None
        assert evaluation.date == competence.date
        assert [
            (a.name, a.domain, a.pillar_prefix, a.abbreviation) for a in evaluation.acquisitions
        ] == [
            (item.label, item.domain, item.pillar.prefix, level.abbreviation if level else "Abs")
            for item, level in zip(competence.items, levels, strict=True)
        ]
    abbreviations = {a.abbreviation for e in got.values() for a in e.acquisitions}
    assert abbreviations <= {"A+", "A", "C", "E", "Abs"} and len(abbreviations) >= 2
    assert counters_evaluations(espaces) == len(data.competences) > 0


def counters_evaluations(espaces: Espaces) -> int:
    base = espaces.school.base_in_service
    assert base is not None
    return base.counters.evaluations


@pytest.mark.parametrize("kind", ["STUDENT", "PARENT"])
def test_pawnote_reads_notebook_evaluations_and_grades(
    espaces: Espaces, kind: str, tmp_path: Path
) -> None:
    modules = pawnote_dir(tmp_path)
    data = espaces.data
    student = pick_student(data, PARIS_TODAY)
    login = student.login
    if kind == "PARENT":
        parent = next(
            r
            for r in data.responsables
            if isinstance(r, Responsable) and r.child_ids[:1] == (student.id,)
        )
        login = parent.login
    espaces.school.issue_passwords([(login, "pw-dated-1")])
    result = run_pawnote(
        modules,
        script=DATED_SCRIPT,
        url=espaces.url(""),
        kind=kind,
        username=login,
        password="pw-dated-1",
    )
    assert "error" not in result, result
    assert result["name"] == student.display_name
    p1 = first_period(data)
    expected = visible(data, student, p1, PARIS_TODAY)
    grades = {g["id"]: g for g in result["grades"]["Trimestre 1"]["grades"]}
    assert set(grades) == {e.id for e in expected}
    for evaluation in expected:
        mark = evaluation.marks[student.id]
        got = grades[evaluation.id]
        if isinstance(mark, MarkKind):
            assert got["kind"] == PAWNOTE_KINDS[mark]
        else:
            assert (got["kind"], got["points"]) == (0, mark)
    assert result["grades"]["Trimestre 2"] == {
        "grades": [],
        "averages": [],
        "overall": None,
        "classOverall": None,
    }
    end = PARIS_NOW
    absences, delays, punishments = data.vie_scolaire.of(student.id)
    notebook = result["notebook"]["Trimestre 1"]
    assert [a["id"] for a in notebook["absences"]] == [a.id for a in absences if a.start <= end]
    assert [d["id"] for d in notebook["delays"]] == [d.id for d in delays if d.at <= end]
    assert [(p["id"], p["giver"]) for p in notebook["punishments"]] == [
        (p.id, p.giver_name) for p in punishments if p.given_at <= end and not p.is_sanction
    ]
    assert result["notebook"]["Trimestre 3"] == {"absences": [], "delays": [], "punishments": []}
    competences = {
        c.id: [
            (item.label, item.pillar.prefix, level.abbreviation if level else "Abs")
            for item, level in zip(c.items, c.levels_of(student.id) or (), strict=True)
        ]
        for c in data.competences
        if c.period_id == "P1" and c.date <= PARIS_TODAY and student.id in c.student_ids
    }
    got = {
        e["id"]: [(s["item"], s["pillar"][0], s["abbreviation"]) for s in e["skills"]]
        for e in result["evaluations"]["Trimestre 1"]
    }
    assert got == competences and competences


def test_at_the_end_of_the_year_a_class_is_served_every_record_the_counters_count(
    espaces: Espaces,
) -> None:
    """Every student of a class reads all three trimestres in July: together they are served
    exactly their records (nothing lost at a period's edge, nothing twice)."""
    data = espaces.data
    espaces.clock.advance_to(datetime.datetime(2027, 7, 10, 12, tzinfo=datetime.UTC).timestamp())
    student = pick_student(data, PARIS_TODAY)
    classmates = [s for s in data.students if s.class_id == student.class_id]
    espaces.school.issue_passwords([(s.login, "pw-dated-1") for s in classmates])
    served: dict[str, list[str]] = {"absences": [], "delays": [], "punishments": []}
    expected: dict[str, list[str]] = {"absences": [], "delays": [], "punishments": []}
    for mate in classmates:
        client = pronotepy.Client(espaces.url("eleve.html"), mate.login, "pw-dated-1")
        for period in client.periods:
            served["absences"] += [a.id for a in period.absences]
            served["delays"] += [d.id for d in period.delays]
            served["punishments"] += [p.id for p in period.punishments]
        absences, delays, punishments = data.vie_scolaire.of(mate.id)
        expected["absences"] += [a.id for a in absences]
        expected["delays"] += [d.id for d in delays]
        expected["punishments"] += [p.id for p in punishments if not p.is_sanction]
    assert {k: sorted(v) for k, v in served.items()} == {k: sorted(v) for k, v in expected.items()}
    assert all(expected.values())
