"""A synthetic, deterministic school: what a base holds, generated from a seed (the UAI).

`generate(seed, school_year, counters)` builds the same school byte for byte for the same
seed, year and Ressources counters (professeurs, matières, classes, groupes, élèves, salles),
which it matches exactly. Nothing of it is saved: a base keeps only its seed and counters, and
the data is regenerated when read (an LRU keeps the last few schools).

The Scolarité and Vie scolaire counters are computed from the data (`counters_of`):
devoirs = evaluations (graded "devoirs"), notes = numeric marks (special marks excluded),
cahiers de textes = lessons of the year with a content (`synthetic_contents`), documents
joints = the attachments of contents and homework, évaluations = évaluations de compétences,
absences, retards, punitions and sanctions = the vie scolaire's records
(`synthetic_vie_scolaire`, each on its own random stream); appréciations and suivis are not
modelled and stay 0.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import random
from collections.abc import Iterator
from dataclasses import dataclass

from vm_agent.domain import calendar
from vm_agent.domain import synthetic_contents as contents
from vm_agent.domain import synthetic_names as names
from vm_agent.domain import synthetic_people as people
from vm_agent.domain.counters import RESOURCE_FIELDS, BaseCounters, resources_of
from vm_agent.domain.errors import InvalidArgument
from vm_agent.domain.school_data import (
    MarkKind,
    Person,
    PersonKind,
    Responsable,
    SchoolData,
)
from vm_agent.domain.synthetic_competences import competence_evaluations
from vm_agent.domain.synthetic_life import life_counts, school_life
from vm_agent.domain.synthetic_timetable import build_timetable
from vm_agent.domain.synthetic_vie_scolaire import absent_at_devoirs, vie_scolaire

__all__ = [
    "FirstPeople",
    "SchoolData",
    "count",
    "counters_of",
    "empty",
    "find_people",
    "first_people",
    "generate",
    "roster",
    "survey",
    "typical_counters",
]

CACHED_SCHOOLS = 4


def generate(seed: str, school_year: str, counters: BaseCounters) -> SchoolData:
    """The synthetic school of `seed` for this year, with exactly the Ressources counters."""
    if not seed:
        return empty(school_year)
    return _generate(seed, school_year, resources_of(counters))


def empty(school_year: str) -> SchoolData:
    """An empty base's data: the calendar, no people."""
    return SchoolData(
        school_year=school_year,
        first_monday=calendar.first_monday(school_year),
        periods=calendar.periods(school_year),
        holidays=calendar.holidays(school_year),
        days_off=calendar.public_holidays(school_year),
        classes_start=calendar.first_school_day(school_year),
        classes_end=calendar.end_of_classes(school_year),
    )


def typical_counters(seed: str, enseignant_capacity: int | None) -> BaseCounters:
    """Plausible Ressources counters for a school (around DOMAIN.md's example: 35 professeurs,
    46 matières, 16 classes, 60 groupes, 422 élèves, 38 salles), never more teachers than
    the formula's `enseignant_capacity` (None: unlimited)."""
    rng = random.Random(f"typical|{seed}")
    eleves_per_teacher = rng.uniform(11.0, 13.5)
    eleves = rng.randint(250, 700)
    if enseignant_capacity is not None:  # a school orders the formula that fits its size
        eleves = min(eleves, round(enseignant_capacity * eleves_per_teacher))
    classes = max(4, round(eleves / rng.uniform(24.0, 28.0)))
    professeurs = max(1, round(eleves / eleves_per_teacher))
    if enseignant_capacity is not None:
        professeurs = min(professeurs, enseignant_capacity)
    return BaseCounters(
        professeurs=professeurs,
        matieres=rng.randint(30, 50),
        classes=classes,
        groupes=round(classes * rng.uniform(3.0, 4.5)),
        eleves=eleves,
        salles=max(classes + 4, round(classes * rng.uniform(2.0, 2.6))),
    )


def counters_of(data: SchoolData) -> BaseCounters:
    """Every counter the console shows, counted in the data (see the module docstring)."""
    marks = [mark for e in data.evaluations for mark in e.marks.values()]
    office = data.vie_scolaire
    return BaseCounters(
        professeurs=len(data.teachers),
        matieres=len(data.subjects),
        classes=len(data.classes),
        groupes=len(data.groups),
        eleves=len(data.students),
        salles=len(data.rooms),
        devoirs=len(data.evaluations),
        notes=sum(1 for mark in marks if not isinstance(mark, MarkKind)),
        cahiers_de_textes=contents.count_entries(data),
        documents_joints=contents.count_attachments(data, (h.id for h in data.homework)),
        evaluations=len(data.competences),
        absences=len(office.absences),
        retards=len(office.delays),
        punitions=office.punitions,
        sanctions=office.sanctions,
    )


# -- the generator ---------------------------------------------------------------------------


def count(seed: str, school_year: str, counters: BaseCounters) -> BaseCounters:
    """`counters_of(generate(...))` without keeping (or caching) the school's data."""
    if not seed:
        return BaseCounters()
    with _no_collections():
        rng, data = _structure(seed, school_year, resources_of(counters))
        homework, evaluations, marks, absent_days = life_counts(rng, data)
        office = vie_scolaire(seed, data, absent_days)
        competences = len(competence_evaluations(seed, data))
    return BaseCounters(
        professeurs=len(data.teachers),
        matieres=len(data.subjects),
        classes=len(data.classes),
        groupes=len(data.groups),
        eleves=len(data.students),
        salles=len(data.rooms),
        devoirs=evaluations,
        notes=marks,
        cahiers_de_textes=contents.count_entries(data),
        documents_joints=contents.count_attachments(data, (f"TA{n + 1}" for n in range(homework))),
        evaluations=competences,
        absences=len(office.absences),
        retards=len(office.delays),
        punitions=office.punitions,
        sanctions=office.sanctions,
    )


@functools.lru_cache(maxsize=CACHED_SCHOOLS)
def _generate(seed: str, school_year: str, resources: tuple[int, ...]) -> SchoolData:
    with _no_collections():
        data = school_life(*_structure(seed, school_year, resources))
        return dataclasses.replace(
            data,
            vie_scolaire=vie_scolaire(seed, data, absent_at_devoirs(data)),
            competences=competence_evaluations(seed, data),
        )


@contextlib.contextmanager
def _no_collections() -> Iterator[None]:
    """The generator makes many objects and no cycles: garbage collections while it runs
    would only cost time (and write to every object a forked school shares)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def roster(seed: str, school_year: str, counters: BaseCounters) -> SchoolData:
    """The school's people, subjects, rooms, classes and groups only (no timetable, no
    life): enough to find a person, at a fraction of the memory; not cached."""
    if not seed:
        return empty(school_year)
    with _no_collections():
        return _people(seed, school_year, resources_of(counters))[1]


def find_people(
    seed: str, school_year: str, counters: BaseCounters, logins: list[str]
) -> dict[str, Person]:
    """The people of the school with these logins (the unknown ones are left out)."""
    data = roster(seed, school_year, counters)
    found = (data.person(login) for login in logins)
    return {person.login: person for person in found if person is not None}


@dataclass(frozen=True)
class FirstPeople:
    people: list[Person]  # the first ones of each kind asked for, kind after kind
    totals: dict[PersonKind, int]  # how many of each kind the school has
    child_logins: dict[str, str]  # student id -> login, for the responsables among them
    children: list[Person]  # those students

    def only(self, kinds: list[PersonKind], limit: int) -> FirstPeople | None:
        """The answer `first_people` would give for these kinds and limit, if known here."""
        if limit > 1 or any(kind not in self.totals for kind in kinds):
            return None
        chosen: list[Person] = []
        for kind in kinds:
            chosen.extend([p for p in self.people if p.kind is kind][:limit])
        return FirstPeople(
            chosen, {k: self.totals[k] for k in kinds}, self.child_logins, self.children
        )

    def find(self, logins: list[str]) -> dict[str, Person] | None:
        """The answer `find_people` would give, if every login is known here."""
        known = {p.login: p for p in (*self.people, *self.children)}
        if any(login not in known for login in logins):
            return None
        return {login: known[login] for login in logins}


def first_people(
    seed: str, school_year: str, counters: BaseCounters, kinds: list[PersonKind], limit: int
) -> FirstPeople:
    """The first `limit` people of each kind (one generation for all kinds)."""
    data = roster(seed, school_year, counters)
    chosen: list[Person] = []
    totals = {}
    for kind in kinds:
        everyone = _sample_order(data.people_of(kind))
        chosen.extend(everyone[: max(limit, 0)])
        totals[kind] = len(everyone)
    child_ids = {c for p in chosen if isinstance(p, Responsable) for c in p.child_ids}
    children: list[Person] = [s for s in data.students if s.id in child_ids]
    return FirstPeople(chosen, totals, {s.id: s.login for s in children}, children)


def _sample_order(people: tuple[Person, ...]) -> tuple[Person, ...]:
    """Sample accounts first: parents with the most children (a demo parent switches between
    several), everyone else in the school's order."""
    return tuple(
        sorted(people, key=lambda p: -len(p.child_ids) if isinstance(p, Responsable) else 0)
    )


def survey(seed: str, school_year: str, counters: BaseCounters) -> tuple[BaseCounters, FirstPeople]:
    """What a new base needs: its counters, and the first person of each kind (with the
    first responsable's children), to answer the first questions without generating again."""
    return count(seed, school_year, counters), first_people(
        seed, school_year, counters, list(PersonKind), 1
    )


def _structure(
    seed: str, school_year: str, resources: tuple[int, ...]
) -> tuple[random.Random, SchoolData]:
    """The roster and the weekly timetable, and the generator to go on with."""
    rng, data = _people(seed, school_year, resources)
    subject_ids = {s.name: s.id for s in data.subjects}
    teachers_by_subject: dict[str, list[str]] = {}
    for teacher in data.teachers:
        for subject_id in teacher.subject_ids:
            teachers_by_subject.setdefault(subject_id, []).append(teacher.id)
    special_rooms = {
        subject_ids[subject]: room.id
        for subject, room_name in names.SPECIAL_ROOMS.items()
        for room in data.rooms
        if room.name == room_name and subject in subject_ids
    }
    group_sets = people.groups(len(data.groups), data.classes, subject_ids)[1]
    courses = people.courses(data.classes, group_sets, subject_ids)
    timetable = build_timetable(
        rng, courses, teachers_by_subject, [r.id for r in data.rooms], special_rooms
    )
    return rng, dataclasses.replace(data, timetable=timetable)


def _people(
    seed: str, school_year: str, resources: tuple[int, ...]
) -> tuple[random.Random, SchoolData]:
    wanted = dict(zip(RESOURCE_FIELDS, resources, strict=True))
    if any(count < 0 for count in resources):
        raise InvalidArgument(f"resource counters cannot be negative: {wanted}")
    rng = random.Random(f"{seed}|{school_year}|{resources}")
    lycee = rng.random() < 0.35
    logins = people.Logins()
    subjects = people.subjects(wanted["matieres"], lycee)
    subject_ids = {s.name: s.id for s in subjects}
    rooms = people.rooms(wanted["salles"], subject_ids)
    classes = people.classes(wanted["classes"], lycee)
    groups, group_sets = people.groups(wanted["groupes"], classes, subject_ids)
    students, families = people.students(
        rng, wanted["eleves"], classes, group_sets, school_year, lycee, logins
    )
    responsables = people.responsables(rng, students, families, logins)
    courses = people.courses(classes, group_sets, subject_ids)
    teachers = people.teachers(rng, wanted["professeurs"], courses, subjects, logins)
    staff = people.staff(rng, wanted["eleves"], logins)
    return rng, dataclasses.replace(
        empty(school_year),
        seed=seed,
        subjects=subjects,
        rooms=rooms,
        classes=classes,
        groups=groups,
        teachers=teachers,
        students=students,
        responsables=responsables,
        staff=staff,
    )
