"""The canteen's menus (onglet 10): `PageMenus` for the week of a date.

pronotepy `Client.menus` (clients.py:885-912) sends each week's Monday and reads
`ListeJours.V[].ListeRepas.V[]` (`dataClasses.Menu`, 1915-2016); pawnote `menus`
(src/api/menus.ts) sends any day and decodes the whole reply (`decodeWeekMenu`,
src/decoders/week-menu.ts). Spec: docs/pronote-net/menus.md.
"""

from __future__ import annotations

import datetime
from typing import Any

from vm_agent.adapters.pronote_net import formats
from vm_agent.adapters.pronote_net.calls import Call
from vm_agent.domain.school_data import SchoolData
from vm_agent.domain.synthetic_contents import school_days
from vm_agent.domain.synthetic_menus import ALLERGENS, LABELS, Food, Meal, has_internat, meals_of


def menus(call: Call) -> dict[str, Any]:
    school = call.school
    day = formats.parse_date(call.data.get("date")) or call.today
    monday = day - datetime.timedelta(days=day.weekday())
    days = []
    for offset in range(7):
        date = monday + datetime.timedelta(days=offset)
        meals = meals_of(school, date)
        if meals:
            days.append(
                {
                    "Date": formats.date(date),
                    "ListeRepas": formats.wrapped([_meal(m) for m in meals]),
                }
            )
    return {
        "AvecRepasMidi": True,
        "AvecRepasSoir": has_internat(school),
        "ListeJours": formats.wrapped(days),
        "DomaineDePresence": {"_T": 8, "V": _presence(school)},
        "ListeAllergenes": formats.wrapped([_tag(n, c) for n, c in ALLERGENS]),
        "Listelabels": formats.wrapped([_tag(n, c) for n, c in LABELS]),
    }


def _meal(meal: Meal) -> dict[str, Any]:
    return {
        "N": meal.id,
        "G": meal.kind,
        "L": meal.name,
        "ListePlats": formats.wrapped(
            [
                {
                    "G": course,
                    "ListeAliments": formats.wrapped([_food(meal, course, f) for f in foods]),
                }
                for course, foods in meal.courses
            ]
        ),
    }


def _food(meal: Meal, course: int, food: Food) -> dict[str, Any]:
    colours = dict(LABELS) | dict(ALLERGENS)
    return {
        "N": f"{meal.id}-{course}",
        "L": food.name,
        "listeLabelsAlimentaires": formats.wrapped([_tag(n, colours[n]) for n in food.labels]),
        "listeAllergenesAlimentaire": formats.wrapped(
            [_tag(n, colours[n]) for n in food.allergens]
        ),
    }


def _tag(name: str, colour: str) -> dict[str, Any]:
    return {"N": f"LA-{sum(name.encode())}", "L": name, "couleur": colour}


def _presence(school: SchoolData) -> str:
    key = (school.school_year, school.classes_start, school.classes_end, school.holidays,
           school.days_off)  # fmt: skip
    found = _PRESENCE.get(key)
    if found is None:
        if len(_PRESENCE) > 16:
            _PRESENCE.clear()
        found = _PRESENCE[key] = _domain(sorted({school.week_of(d) for d in school_days(school)}))
    return found


_PRESENCE: dict[object, str] = {}  # the weeks with classes of a school year's calendar


def _domain(weeks: list[int]) -> str:
    """PRONOTE's domain syntax: "[1..7,10..15]"."""
    parts: list[str] = []
    for week in weeks:
        if parts and week == int(parts[-1].rpartition("..")[2] or parts[-1]) + 1:
            low = parts[-1].partition("..")[0]
            parts[-1] = f"{low}..{week}"
        else:
            parts.append(str(week))
    return f"[{','.join(parts)}]"
