"""The sample family of a synthetic school: the parent with the most children (the demo's
sample parent, `synthetic.first_people`) always has a discussion with a teacher of each child,
so a client author trying the demo account finds a parent's messages (pronotepy's own test
suite opens `parent_client.discussions()[0]`). No random draw: the school's other data is
unchanged."""

from __future__ import annotations

import datetime

from vm_agent.domain.school_data import Discussion, Message, SchoolData, Student


def sample_family_discussions(
    data: SchoolData, days: list[datetime.date]
) -> tuple[Discussion, ...]:
    if not data.responsables or not days:
        return ()
    parent = max(data.responsables, key=lambda r: len(r.child_ids))  # synthetic._sample_order
    teacher_of = {slot.class_id: slot.teacher_id for slot in data.timetable if not slot.group_id}
    classes = {c.id: c.name for c in data.classes}
    found = []
    for index, child_id in enumerate(parent.child_ids):
        child = data.person_by_id(child_id)
        if not isinstance(child, Student):
            continue
        teacher = data.person_by_id(teacher_of.get(child.class_id, ""))
        if teacher is None:
            continue
        day = days[min(len(days) - 1, 10 + 5 * index)]
        at = datetime.datetime.combine(day, datetime.time(17, 30))
        messages = (
            Message(teacher.display_name, at,
                    f"Bonjour, {child.first_name} a oublié son cahier aujourd'hui."),
            Message(parent.display_name, at + datetime.timedelta(hours=2),
                    "Merci de nous avoir prévenus, ce sera fait demain."),
        )  # fmt: skip
        found.append(
            Discussion(
                f"DF{index + 1}",
                f"Cahier de {child.first_name} ({classes.get(child.class_id, '')})",
                (teacher.id, parent.id),
                messages,
            )
        )
    return tuple(found)
