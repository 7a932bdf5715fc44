"""The people, subjects, rooms, classes and groups of a synthetic school (`synthetic`)."""

from __future__ import annotations

import datetime
import random
import unicodedata
from collections import Counter
from typing import NamedTuple

from vm_agent.domain import calendar
from vm_agent.domain import synthetic_names as names
from vm_agent.domain.school_data import (
    Group,
    Person,
    PersonKind,
    Responsable,
    Room,
    SchoolClass,
    Student,
    Subject,
    Teacher,
)
from vm_agent.domain.synthetic_timetable import Course


class Logins:
    """Logins like `eleve.dupont.l`, unique in the school (a number when already taken)."""

    def __init__(self) -> None:
        self._taken: set[str] = set()
        self._numbered: dict[str, int] = {}  # stem -> the number its last login took (1: none)

    def new(self, prefix: str, first_name: str, last_name: str) -> str:
        """The stem, else the stem and the smallest number from 2 not taken. A stem's numbers
        below its last one are all taken (logins are never given back), so the search starts
        there: a school's thousand logins no longer scan every earlier number of their stem."""
        stem = f"{prefix}.{_ascii(last_name)}.{_ascii(first_name)[:1]}"
        number = self._numbered.get(stem, 0)
        while True:
            number += 1
            login = stem if number == 1 else f"{stem}{number}"
            if login not in self._taken:
                break
        self._numbered[stem] = number
        self._taken.add(login)
        return login


def _ascii(text: str) -> str:
    known = _ASCII_NAMES.get(text)
    return known if known is not None else _to_ascii(text)


def _to_ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c if c.isalnum() else "-" for c in plain.lower()).strip("-")


# Every name the generator draws, made ASCII once (at import: in the warm parent, shared by
# every school): a third of the time of finding a school's first people went into it.
_ASCII_NAMES = {
    name: _to_ascii(name)
    for name in (
        *names.LAST_NAMES,
        *names.GIRL_NAMES,
        *names.BOY_NAMES,
        *names.WOMAN_NAMES,
        *names.MAN_NAMES,
    )
}


def subjects(count: int, lycee: bool) -> tuple[Subject, ...]:
    known = (names.LYCEE_SUBJECTS if lycee else names.COLLEGE_SUBJECTS) + [
        s for s in names.OTHER_SUBJECTS
    ]
    seen: set[str] = set()
    pairs = [p for p in known if not (p[0] in seen or seen.add(p[0]))]  # type: ignore[func-returns-value]
    pairs += [(f"OPTION {n}", f"OPT{n}") for n in range(1, count - len(pairs) + 1)]
    return tuple(
        Subject(f"MA{i + 1}", name, short) for i, (name, short) in enumerate(pairs[:count])
    )


def rooms(count: int, subject_ids: dict[str, str]) -> tuple[Room, ...]:
    specials = [room for subject, room in names.SPECIAL_ROOMS.items() if subject in subject_ids]
    room_names = specials[: count // 4]  # a school with few rooms has ordinary ones first
    floor, number = 1, 0
    while len(room_names) < count:
        number += 1
        if number > 12:
            floor, number = floor + 1, 1
        room_names.append(f"{floor}{number:02d}")
    return tuple(Room(f"SA{i + 1}", name) for i, name in enumerate(room_names))


def classes(count: int, lycee: bool) -> tuple[SchoolClass, ...]:
    levels = names.LYCEE_LEVELS if lycee else names.COLLEGE_LEVELS
    per_level = Counter(levels[i * len(levels) // max(count, 1)] for i in range(count))
    classes: list[SchoolClass] = []
    for level in levels:
        for index in range(per_level[level]):
            letter = chr(ord("A") + index) if index < 26 else str(index + 1)
            name = f"{level} {letter}" if lycee else f"{level[0]}{letter}"
            classes.append(SchoolClass(f"CL{len(classes) + 1}", name, level))
    return tuple(classes)


NO_CLASS = SchoolClass("", "", "")  # students of a school with no classes yet (0 classes)

# A class's group sets: set name -> [(group, subject id, weekly hours)].
GroupSets = dict[str, dict[str, list[tuple[Group, str, int]]]]


def groups(
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


class _ClassDraws(NamedTuple):
    """What every student of a class draws from: its group sets in order, each with whether
    it is an option (taken by some), and the first day of its students' year of birth."""

    sets: list[tuple[bool, list[tuple[Group, str, int]]]]
    first_of_year: datetime.date


def students(
    rng: random.Random,
    count: int,
    classes: tuple[SchoolClass, ...],
    group_sets: GroupSets,
    school_year: str,
    lycee: bool,
    logins: Logins,
) -> tuple[tuple[Student, ...], list[list[str]]]:
    """Students in their classes and groups, and families (student ids of siblings)."""
    # The random draws are made one after the other on one stream (a change of their order
    # or count changes every school). The loops below are a school's ~10 000 draws, the
    # cost of finding its first people (`synthetic.first_people`): what does not depend on
    # the student is worked out once per class.
    draw, pick = rng.random, rng.choice
    people: list[tuple[SchoolClass, str, str, int]] = []  # class, last, first, family
    family_sizes: list[int] = []
    for index in range(count):
        school_class = classes[index * len(classes) // count] if classes else NO_CLASS
        first = pick(names.GIRL_NAMES if draw() < 0.5 else names.BOY_NAMES)
        sibling = pick(people) if people and draw() < 0.1 else None
        if sibling and sibling[0].id != school_class.id and family_sizes[sibling[3]] < 3:
            family_sizes[sibling[3]] += 1
            people.append((school_class, sibling[1], first, sibling[3]))
        else:
            family_sizes.append(1)
            people.append((school_class, pick(names.LAST_NAMES), first, len(family_sizes) - 1))
    people.sort(key=lambda p: (p[0].id, p[1], p[2]))
    students = []
    families: list[list[str]] = [[] for _ in family_sizes]
    first_year = calendar.start_year(school_year)
    levels = names.LYCEE_LEVELS if lycee else names.COLLEGE_LEVELS
    per_class: dict[str, _ClassDraws] = {}
    for index, (school_class, last, first, family) in enumerate(people):
        known = per_class.get(school_class.id)
        if known is None:  # its group sets (options: taken by some), its students' year of birth
            level = school_class.level
            age = (15 if lycee else 11) + (levels.index(level) if level in levels else 0)
            sets = group_sets.get(school_class.id, {}).items()
            known = per_class[school_class.id] = _ClassDraws(
                [(name.startswith("OPT"), members) for name, members in sets],
                datetime.date(first_year - age, 1, 1),
            )
        class_sets, first_of_year = known
        group_ids = []
        for option, members in class_sets:
            if option and draw() < 0.7:
                continue  # an option only some students take
            group_ids.append(pick(members)[0].id)
        born = first_of_year + datetime.timedelta(rng.randrange(365))
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


def responsables(
    rng: random.Random,
    students: tuple[Student, ...],
    families: list[list[str]],
    logins: Logins,
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


def courses(
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


def teachers(
    rng: random.Random,
    count: int,
    courses: list[list[Course]],
    subjects: tuple[Subject, ...],
    logins: Logins,
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


def staff(rng: random.Random, student_count: int, logins: Logins) -> tuple[Person, ...]:
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
