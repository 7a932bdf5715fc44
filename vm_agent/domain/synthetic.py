"""A synthetic, deterministic school: what a base holds, generated from a seed (the UAI).

`generate(seed, school_year, counters)` builds the same school byte for byte for the same
seed, year and Ressources counters (professeurs, matières, classes, groupes, élèves, salles),
which it matches exactly. Nothing of it is saved: a base keeps only its seed and counters, and
the data is regenerated when read (an LRU keeps the last few schools).

The Scolarité and Vie scolaire counters are computed from the data (`counters_of`):
devoirs = evaluations (graded "devoirs"), notes = marks given (absent students excluded),
cahiers de textes = homework entries (the "travail à faire" of the cahier de textes),
absences = students absent at an evaluation; appréciations, documents joints, évaluations
(compétences), sanctions, punitions, retards and suivis are not modelled and stay 0.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import random
import unicodedata
from collections import Counter

from vm_agent.domain import calendar
from vm_agent.domain import synthetic_names as names
from vm_agent.domain.counters import RESOURCE_FIELDS, BaseCounters, resources_of
from vm_agent.domain.school_data import (
    Group,
    Person,
    PersonKind,
    Responsable,
    Room,
    SchoolClass,
    SchoolData,
    Student,
    Subject,
    Teacher,
)
from vm_agent.domain.synthetic_life import life_counts, school_life
from vm_agent.domain.synthetic_timetable import Course, build_timetable

__all__ = ["SchoolData", "count", "counters_of", "empty", "generate", "typical_counters"]

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


def typical_counters(seed: str, teacher_capacity: int | None) -> BaseCounters:
    """Plausible Ressources counters for a school (around DOMAIN.md's example: 35 professeurs,
    46 matières, 16 classes, 60 groupes, 422 élèves, 38 salles), never more teachers than
    the formula's `teacher_capacity` (None: unlimited)."""
    rng = random.Random(f"typical|{seed}")
    eleves = rng.randint(250, 700)
    classes = max(4, round(eleves / rng.uniform(24.0, 28.0)))
    professeurs = max(1, round(eleves / rng.uniform(11.0, 13.5)))
    if teacher_capacity is not None:
        professeurs = min(professeurs, teacher_capacity)
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
    absent_days = {
        (student_id, e.date)
        for e in data.evaluations
        for student_id, mark in e.marks.items()
        if mark is None
    }
    return BaseCounters(
        professeurs=len(data.teachers),
        matieres=len(data.subjects),
        classes=len(data.classes),
        groupes=len(data.groups),
        eleves=len(data.students),
        salles=len(data.rooms),
        devoirs=len(data.evaluations),
        notes=sum(1 for mark in marks if mark is not None),
        cahiers_de_textes=len(data.homework),
        absences=len(absent_days),
    )


# -- the generator ---------------------------------------------------------------------------


def count(seed: str, school_year: str, counters: BaseCounters) -> BaseCounters:
    """`counters_of(generate(...))` without keeping (or caching) the school's data."""
    if not seed:
        return BaseCounters()
    rng, data = _structure(seed, school_year, resources_of(counters))
    homework, evaluations, marks, absences = life_counts(rng, data)
    return dataclasses.replace(
        counters_of(data),
        devoirs=evaluations,
        notes=marks,
        cahiers_de_textes=homework,
        absences=absences,
    )


@functools.lru_cache(maxsize=CACHED_SCHOOLS)
def _generate(seed: str, school_year: str, resources: tuple[int, ...]) -> SchoolData:
    return school_life(*_structure(seed, school_year, resources))


def roster(seed: str, school_year: str, counters: BaseCounters) -> SchoolData:
    """The school's people, subjects, rooms, classes and groups only (no timetable, no
    life): enough to find a person, at a fraction of the memory; not cached."""
    if not seed:
        return empty(school_year)
    return _people(seed, school_year, resources_of(counters))[1]


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
    group_sets = _groups(len(data.groups), data.classes, subject_ids)[1]
    courses = _courses(data.classes, group_sets, subject_ids)
    timetable = build_timetable(
        rng, courses, teachers_by_subject, [r.id for r in data.rooms], special_rooms
    )
    return rng, dataclasses.replace(data, timetable=timetable)


def _people(
    seed: str, school_year: str, resources: tuple[int, ...]
) -> tuple[random.Random, SchoolData]:
    wanted = dict(zip(RESOURCE_FIELDS, resources, strict=True))
    if any(count < 0 for count in resources):
        raise ValueError(f"resource counters cannot be negative: {wanted}")
    rng = random.Random(f"{seed}|{school_year}|{resources}")
    lycee = rng.random() < 0.35
    logins = _Logins()
    subjects = _subjects(wanted["matieres"], lycee)
    subject_ids = {s.name: s.id for s in subjects}
    rooms = _rooms(wanted["salles"], subject_ids)
    classes = _classes(wanted["classes"], lycee)
    groups, group_sets = _groups(wanted["groupes"], classes, subject_ids)
    students, families = _students(
        rng, wanted["eleves"], classes, group_sets, school_year, lycee, logins
    )
    responsables = _responsables(rng, students, families, logins)
    courses = _courses(classes, group_sets, subject_ids)
    teachers = _teachers(rng, wanted["professeurs"], courses, subjects, logins)
    staff = _staff(rng, wanted["eleves"], logins)
    return rng, dataclasses.replace(
        empty(school_year),
        subjects=subjects,
        rooms=rooms,
        classes=classes,
        groups=groups,
        teachers=teachers,
        students=students,
        responsables=responsables,
        staff=staff,
    )


class _Logins:
    """Logins like `eleve.dupont.l`, unique in the school (a number when already taken)."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def new(self, prefix: str, first_name: str, last_name: str) -> str:
        stem = f"{prefix}.{_ascii(last_name)}.{_ascii(first_name)[:1]}"
        login, number = stem, 1
        while login in self._taken:
            number += 1
            login = f"{stem}{number}"
        self._taken.add(login)
        return login


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c if c.isalnum() else "-" for c in plain.lower()).strip("-")


def _subjects(count: int, lycee: bool) -> tuple[Subject, ...]:
    known = (names.LYCEE_SUBJECTS if lycee else names.COLLEGE_SUBJECTS) + [
        s for s in names.OTHER_SUBJECTS
    ]
    seen: set[str] = set()
    pairs = [p for p in known if not (p[0] in seen or seen.add(p[0]))]  # type: ignore[func-returns-value]
    pairs += [(f"OPTION {n}", f"OPT{n}") for n in range(1, count - len(pairs) + 1)]
    return tuple(
        Subject(f"MA{i + 1}", name, short) for i, (name, short) in enumerate(pairs[:count])
    )


def _rooms(count: int, subject_ids: dict[str, str]) -> tuple[Room, ...]:
    specials = [room for subject, room in names.SPECIAL_ROOMS.items() if subject in subject_ids]
    room_names = specials[: count // 4]  # a school with few rooms has ordinary ones first
    floor, number = 1, 0
    while len(room_names) < count:
        number += 1
        if number > 12:
            floor, number = floor + 1, 1
        room_names.append(f"{floor}{number:02d}")
    return tuple(Room(f"SA{i + 1}", name) for i, name in enumerate(room_names))


def _classes(count: int, lycee: bool) -> tuple[SchoolClass, ...]:
    levels = names.LYCEE_LEVELS if lycee else names.COLLEGE_LEVELS
    per_level = Counter(levels[i * len(levels) // max(count, 1)] for i in range(count))
    classes: list[SchoolClass] = []
    for level in levels:
        for index in range(per_level[level]):
            letter = chr(ord("A") + index) if index < 26 else str(index + 1)
            name = f"{level} {letter}" if lycee else f"{level[0]}{letter}"
            classes.append(SchoolClass(f"CL{len(classes) + 1}", name, level))
    return tuple(classes)


_NO_CLASS = SchoolClass("", "", "")  # students of a school with no classes yet (0 classes)

# A class's group sets: set name -> [(group, subject id, weekly hours)].
GroupSets = dict[str, dict[str, list[tuple[Group, str, int]]]]


def _groups(
    count: int, classes: tuple[SchoolClass, ...], subject_ids: dict[str, str]
) -> tuple[tuple[Group, ...], GroupSets]:
    groups: list[Group] = []
    sets: GroupSets = {c.id: {} for c in classes}
    fallback = next(iter(subject_ids.values()), "")
    for index in range(count if classes else 0):
        school_class = classes[index % len(classes)]
        round_, template_index = divmod(index // len(classes), len(names.GROUP_TEMPLATES))
        set_name, suffix, subject, hours = names.GROUP_TEMPLATES[template_index]
        if round_:
            set_name, suffix = f"{set_name}{round_ + 1}", f"{suffix}-{round_ + 1}"
        subject_id = subject_ids.get(subject, fallback)
        group = Group(
            f"GR{index + 1}", f"{school_class.name} {suffix}", school_class.id, subject_id
        )
        groups.append(group)
        sets[school_class.id].setdefault(set_name, []).append((group, subject_id, hours))
    return tuple(groups), sets


def _students(
    rng: random.Random,
    count: int,
    classes: tuple[SchoolClass, ...],
    group_sets: GroupSets,
    school_year: str,
    lycee: bool,
    logins: _Logins,
) -> tuple[tuple[Student, ...], list[list[str]]]:
    """Students in their classes and groups, and families (student ids of siblings)."""
    levels = names.LYCEE_LEVELS if lycee else names.COLLEGE_LEVELS
    people: list[tuple[SchoolClass, str, str, int]] = []  # class, last, first, family
    family_sizes: list[int] = []
    for index in range(count):
        school_class = classes[index * len(classes) // count] if classes else _NO_CLASS
        female = rng.random() < 0.5
        first = rng.choice(names.GIRL_NAMES if female else names.BOY_NAMES)
        sibling = rng.choice(people) if people and rng.random() < 0.1 else None
        if sibling and sibling[0].id != school_class.id and family_sizes[sibling[3]] < 3:
            family_sizes[sibling[3]] += 1
            people.append((school_class, sibling[1], first, sibling[3]))
        else:
            family_sizes.append(1)
            people.append(
                (school_class, rng.choice(names.LAST_NAMES), first, len(family_sizes) - 1)
            )
    people.sort(key=lambda p: (p[0].id, p[1], p[2]))
    students = []
    families: list[list[str]] = [[] for _ in family_sizes]
    first_year = calendar.start_year(school_year)
    for index, (school_class, last, first, family) in enumerate(people):
        group_ids = []
        for set_name, members in group_sets.get(school_class.id, {}).items():
            if set_name.startswith("OPT") and rng.random() < 0.7:
                continue  # an option only some students take
            group_ids.append(rng.choice(members)[0].id)
        level = school_class.level
        age = (15 if lycee else 11) + (levels.index(level) if level in levels else 0)
        born = datetime.date(first_year - age, 1, 1) + datetime.timedelta(rng.randrange(365))
        student = Student(
            id=f"EL{index + 1}",
            kind=PersonKind.ELEVE,
            login=logins.new("eleve", first, last),
            first_name=first,
            last_name=last,
            class_id=school_class.id,
            group_ids=tuple(group_ids),
            birth_date=born,
        )
        students.append(student)
        families[family].append(student.id)
    return tuple(students), families


def _responsables(
    rng: random.Random,
    students: tuple[Student, ...],
    families: list[list[str]],
    logins: _Logins,
) -> tuple[Responsable, ...]:
    """One or two parents per family; siblings share them."""
    last_names = {s.id: s.last_name for s in students}
    responsables: list[Responsable] = []
    for children in families:
        family_name = last_names[children[0]]
        parents = [(rng.choice(names.WOMAN_NAMES), family_name)]
        if rng.random() < 0.75:
            parents.append((rng.choice(names.MAN_NAMES), family_name))
        elif rng.random() < 0.3:
            parents[0] = (parents[0][0], rng.choice(names.LAST_NAMES))  # kept her name
        for first, last in parents:
            responsables.append(
                Responsable(
                    id=f"RE{len(responsables) + 1}",
                    kind=PersonKind.RESPONSABLE,
                    login=logins.new("parent", first, last),
                    first_name=first,
                    last_name=last,
                    child_ids=tuple(children),
                )
            )
    return tuple(responsables)


def _courses(
    classes: tuple[SchoolClass, ...], group_sets: GroupSets, subject_ids: dict[str, str]
) -> list[list[Course]]:
    """Per class, its courses: group sets first (hardest to place), then by hours."""
    all_courses = []
    for school_class in classes:
        courses: list[Course] = []
        for set_name, members in group_sets[school_class.id].items():
            parts = tuple((group.id, subject) for group, subject, _ in members)
            hours = members[0][2]
            if set_name.startswith("DEMI"):  # half-classes, in turn
                courses.extend(Course(school_class.id, hours, (part,)) for part in parts)
            else:
                courses.append(Course(school_class.id, hours, parts))
        hours_by_subject = names.LEVEL_HOURS[school_class.level]
        whole = [
            Course(school_class.id, hours, (("", subject_ids[subject]),))
            for subject, hours in sorted(hours_by_subject.items(), key=lambda kv: -kv[1])
            if subject in subject_ids
        ]
        all_courses.append(courses + whole)
    return all_courses


def _teachers(
    rng: random.Random,
    count: int,
    courses: list[list[Course]],
    subjects: tuple[Subject, ...],
    logins: _Logins,
) -> tuple[Teacher, ...]:
    """Teachers shared out by the hours each subject needs; with too few, some teach two."""
    demand: Counter[str] = Counter()
    for class_courses in courses:
        for course in class_courses:
            for _, subject_id in course.parts:
                demand[subject_id] += course.hours
    taught = [s.id for s in subjects if demand[s.id]] or [s.id for s in subjects]
    assigned: Counter[str] = Counter()
    teacher_subjects: list[list[str]] = []
    for index in range(count):
        if taught:
            subject = max(taught, key=lambda s: (demand[s] / (assigned[s] + 1), -taught.index(s)))
            if not demand[subject]:
                subject = taught[index % len(taught)]
            assigned[subject] += 1
            teacher_subjects.append([subject])
        else:
            teacher_subjects.append([])
    for subject in taught:  # uncovered subjects go to the teachers with the least to do
        if not assigned[subject] and teacher_subjects:
            lightest = min(
                range(count),
                key=lambda i: sum(demand[s] / assigned[s] for s in teacher_subjects[i]),
            )
            teacher_subjects[lightest].append(subject)
            assigned[subject] += 1
    teachers = []
    for index, subject_list in enumerate(teacher_subjects):
        female = rng.random() < 0.6
        first = rng.choice(names.WOMAN_NAMES if female else names.MAN_NAMES)
        last = rng.choice(names.LAST_NAMES)
        teachers.append(
            Teacher(
                id=f"PR{index + 1}",
                kind=PersonKind.PROFESSEUR,
                login=logins.new("prof", first, last),
                first_name=first,
                last_name=last,
                subject_ids=tuple(subject_list),
            )
        )
    return tuple(teachers)


def _staff(rng: random.Random, student_count: int, logins: _Logins) -> tuple[Person, ...]:
    """Vie scolaire (CPE, surveillants) and personnels (direction, secrétariat)."""
    roles = [("cpe", PersonKind.VIE_SCOLAIRE)] * max(1, student_count // 400)
    roles += [("vs", PersonKind.VIE_SCOLAIRE)] * max(2, student_count // 120)
    roles += [("dir", PersonKind.PERSONNEL)] * 2 + [("sec", PersonKind.PERSONNEL)] * 2
    staff: list[Person] = []
    for prefix, kind in roles:
        female = rng.random() < 0.6
        first = rng.choice(names.WOMAN_NAMES if female else names.MAN_NAMES)
        last = rng.choice(names.LAST_NAMES)
        staff.append(
            Person(f"PE{len(staff) + 1}", kind, logins.new(prefix, first, last), first, last)
        )
    return tuple(staff)
