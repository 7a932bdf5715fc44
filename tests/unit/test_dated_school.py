"""The school year as it happens, in the domain: PRONOTE's average rules on hand-made devoirs
(golden values worked out by hand), the synthetic vie scolaire and compétences (deterministic,
dated in the year, counted exactly), and the school's today in Paris."""

from __future__ import annotations

import datetime
import itertools

import pytest

from vm_agent.domain import calendar, marks, synthetic
from vm_agent.domain.competences import LEVELS, Level
from vm_agent.domain.school_data import Evaluation, Mark, MarkKind, SchoolData

YEAR = "2026-2027"
COLLEGE = "0756000P"
LYCEE = "0750655E"
DAY = datetime.date(2026, 9, 14)


def devoir(
    mark: Mark,
    out_of: float = 20.0,
    coefficient: float = 1.0,
    *,
    optional: bool = False,
    bonus: bool = False,
    published: datetime.date | None = None,
) -> Evaluation:
    return Evaluation(
        id=f"EV-{mark}-{out_of}-{coefficient}-{optional}-{bonus}",
        subject_id="MA1",
        class_id="CL1",
        period_id="P1",
        date=DAY,
        out_of=out_of,
        coefficient=coefficient,
        comment="",
        marks={"EL1": mark},
        published_on=published,
        is_optional=optional,
        is_bonus=bonus,
    )


@pytest.mark.parametrize(
    ("devoirs", "average"),
    [
        # 12/20 and 8/10 (16/20) with coefficient 2: (12 + 32) / 3
        ([devoir(12.0), devoir(8.0, 10.0, 2.0)], 44 / 3),
        # the "zéro" kinds count 0 with their coefficient: (12 + 0 + 0) / 3
        ([devoir(12.0), devoir(MarkKind.ABSENT_ZERO), devoir(MarkKind.NON_RENDU_ZERO)], 4.0),
        # the other special marks are left out
        (
            [
                devoir(12.0),
                *(
                    devoir(k)
                    for k in (
                        MarkKind.ABSENT,
                        MarkKind.DISPENSE,
                        MarkKind.NON_NOTE,
                        MarkKind.INAPTE,
                        MarkKind.NON_RENDU,
                    )
                ),
            ],
            12.0,
        ),
        # an optional mark counts only if it raises the average: 18 does, 5 does not
        ([devoir(12.0), devoir(18.0, optional=True), devoir(5.0, optional=True)], 15.0),
        # of a bonus mark only the points above 10 count, without weight: 12 + (16 - 10)
        ([devoir(12.0), devoir(16.0, bonus=True)], 18.0),
        ([devoir(12.0), devoir(7.0, bonus=True)], 12.0),
        ([devoir(19.0), devoir(20.0, bonus=True)], 20.0),  # capped at 20
        # nothing that counts: no average
        ([devoir(MarkKind.ABSENT), devoir(15.0, bonus=True)], None),
    ],
)
def test_averages_follow_pronote_s_rules(devoirs: list[Evaluation], average: float | None) -> None:
    got = marks.subject_average(devoirs, "EL1")
    assert got == pytest.approx(average) if average is not None else got is None


def test_marks_are_visible_from_their_publication_date() -> None:
    late = devoir(14.0, published=DAY + datetime.timedelta(days=3))
    on_time = devoir(9.0)
    assert marks.visible_on([late, on_time], DAY) == [on_time]
    assert marks.visible_on([late, on_time], DAY + datetime.timedelta(days=3)) == [late, on_time]


def test_the_school_s_today_is_the_date_in_paris() -> None:
    summer = datetime.datetime(2026, 10, 6, 22, 30, tzinfo=datetime.UTC)  # CEST: 00:30 on the 7th
    winter = datetime.datetime(2026, 12, 1, 22, 30, tzinfo=datetime.UTC)  # CET: 23:30 on the 1st
    assert calendar.school_now(summer.timestamp()) == datetime.datetime(2026, 10, 7, 0, 30)
    assert calendar.school_now(winter.timestamp()) == datetime.datetime(2026, 12, 1, 23, 30)


@pytest.fixture(scope="module")
def college() -> SchoolData:
    return synthetic.generate(COLLEGE, YEAR, synthetic.typical_counters(COLLEGE, 30))


def test_vie_scolaire_is_dated_through_the_year_and_never_overlaps(college: SchoolData) -> None:
    office = college.vie_scolaire
    assert office.absences and office.delays and office.punitions and office.sanctions
    assert college.classes_start is not None and college.classes_end is not None
    start = datetime.datetime.combine(college.classes_start, datetime.time())
    end = datetime.datetime.combine(college.classes_end, datetime.time())
    months = set()
    for student in college.students:
        absences, delays, punishments = office.of(student.id)
        spans = sorted((a.start, a.end) for a in absences)
        for (_, first_end), (second_start, _) in itertools.pairwise(spans):
            assert first_end < second_start, f"overlapping absences of {student.id}"
        for absence in absences:
            assert start <= absence.start < absence.end <= end
            assert college.is_school_day(absence.start.date())
            assert absence.half_days >= 1 and (absence.justified <= bool(absence.reason))
            months.add(absence.start.month)
        for when in [d.at for d in delays] + [p.given_at for p in punishments]:
            assert start <= when < end
            assert not any(a.start <= when < a.end for a in absences), "late while absent"
        for punishment in punishments:
            assert punishment.giver_name and punishment.circumstances
    assert len(months) >= 9, "absences spread over the school year"


def test_every_student_absent_at_a_devoir_was_absent_that_day(college: SchoolData) -> None:
    absent = {
        (s, e.date)
        for e in college.evaluations
        for s, m in e.marks.items()
        if m in (MarkKind.ABSENT, MarkKind.ABSENT_ZERO)
    }
    assert absent
    for student_id, day in absent:
        absences = college.vie_scolaire.of(student_id)[0]
        assert any(a.start.date() <= day <= a.end.date() for a in absences)


def test_the_counters_count_exactly_what_is_served(college: SchoolData) -> None:
    counted = synthetic.count(COLLEGE, YEAR, synthetic.typical_counters(COLLEGE, 30))
    office = college.vie_scolaire
    per_student = [office.of(s.id) for s in college.students]
    assert counted.absences == sum(len(a) for a, _, _ in per_student) == len(office.absences)
    assert counted.retards == sum(len(d) for _, d, _ in per_student) == len(office.delays)
    assert counted.punitions == sum(1 for _, _, ps in per_student for p in ps if not p.is_sanction)
    assert counted.sanctions == sum(1 for _, _, ps in per_student for p in ps if p.is_sanction)
    assert counted.evaluations == len(college.competences) > 0
    assert counted.notes == sum(
        1 for e in college.evaluations for m in e.marks.values() if not isinstance(m, MarkKind)
    )


def test_competences_are_the_college_s_with_its_levels(college: SchoolData) -> None:
    lycee = synthetic.generate(LYCEE, YEAR, synthetic.typical_counters(LYCEE, 30))
    assert lycee.competences == ()
    assert {c.cycle for c in college.competences} == {"Cycle 3", "Cycle 4"}
    seen_levels: set[Level | None] = set()
    for competence in college.competences:
        period = next(p for p in college.periods if p.id == competence.period_id)
        assert period.start <= competence.date <= period.end
        assert 2 <= len(competence.items) <= 3
        for student_id in competence.student_ids:
            levels = competence.levels_of(student_id)
            assert levels is not None and len(levels) == len(competence.items)
            seen_levels.update(levels)
    assert set(LEVELS) <= seen_levels and None in seen_levels  # every level, and some absent


def test_the_dated_school_is_deterministic_per_seed(college: SchoolData) -> None:
    synthetic._generate.cache_clear()
    again = synthetic.generate(COLLEGE, YEAR, synthetic.typical_counters(COLLEGE, 30))
    assert again is not college
    assert again.vie_scolaire.absences == college.vie_scolaire.absences
    assert again.vie_scolaire.punishments == college.vie_scolaire.punishments
    assert again.competences == college.competences
    assert [(e.published_on, e.is_optional, e.is_bonus) for e in again.evaluations] == [
        (e.published_on, e.is_optional, e.is_bonus) for e in college.evaluations
    ]
    other = synthetic.generate("0690001X", YEAR, synthetic.typical_counters(COLLEGE, 30))
    assert other.vie_scolaire.absences != college.vie_scolaire.absences
