"""The canteen's menus of a synthetic school, computed per day from the seed (not stored).

Lunch every school day but Wednesday (no afternoon lessons); a lycée with an internat (about
half of them, drawn from the seed) also serves dinner Monday to Thursday. A meal has
PRONOTE's courses (pawnote `DishKind`: 0 entrée, 1 plat, 2 accompagnement, 4 dessert,
5 fromage), each with its foods, and a food its labels (Bio, Fait maison…) and allergens.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from vm_agent.domain.school_data import SchoolData
from vm_agent.domain.synthetic_draw import draw, pick

LUNCH, DINNER = 0, 1  # pawnote MealKind
ENTREE, PLAT, ACCOMPAGNEMENT, DESSERT, FROMAGE = 0, 1, 2, 4, 5
INTERNAT_PROBABILITY = 0.5
LYCEE_LEVELS = frozenset({"2NDE", "1ERE", "TLE"})

# (label, colour) of PRONOTE's "labels alimentaires" and allergens.
LABELS = (("Bio", "#4CAF50"), ("Fait maison", "#FF9800"), ("Label rouge", "#E53935"),
          ("Produit local", "#1E88E5"))  # fmt: skip
ALLERGENS = (
    ("Gluten", "#795548"), ("Lait", "#90CAF9"), ("Œufs", "#FFEB3B"),
    ("Fruits à coque", "#A1887F"), ("Poisson", "#4DD0E1"), ("Céleri", "#AED581"),
)  # fmt: skip
_FOODS_TEXT = {  # one food a line: "name: allergen, allergen"
    ENTREE: """Carottes râpées:
Salade de lentilles:
Betteraves vinaigrette:
Taboulé: Gluten
Œuf mayonnaise: Œufs
Potage de légumes: Céleri
Concombres à la crème: Lait
Pâté de campagne:""",
    PLAT: """Poulet rôti:
Filet de colin meunière: Poisson, Gluten
Bœuf bourguignon:
Lasagnes: Gluten, Lait
Omelette: Œufs
Curry de pois chiches:
Sauté de porc au caramel:
Hachis parmentier: Lait""",
    ACCOMPAGNEMENT: """Riz pilaf:
Haricots verts:
Purée de pommes de terre: Lait
Pâtes: Gluten
Ratatouille:
Frites:
Petits pois:""",
    FROMAGE: """Camembert: Lait
Yaourt nature: Lait
Emmental: Lait
Fromage blanc: Lait""",
    DESSERT: """Pomme:
Compote de poires:
Mousse au chocolat: Lait, Œufs
Tarte aux pommes: Gluten, Œufs
Banane:
Crème vanille: Lait
Salade de fruits:
Gâteau aux noix: Fruits à coque, Gluten""",
}
FOODS = {
    course: tuple(
        (name, tuple(a.strip() for a in allergens.split(",") if a.strip()))
        for name, _, allergens in (line.partition(":") for line in text.splitlines())
    )
    for course, text in _FOODS_TEXT.items()
}
COURSES = (ENTREE, PLAT, ACCOMPAGNEMENT, FROMAGE, DESSERT)


@dataclass(frozen=True)
class Food:
    name: str
    labels: tuple[str, ...]
    allergens: tuple[str, ...]


@dataclass(frozen=True)
class Meal:
    id: str
    kind: int  # LUNCH or DINNER
    name: str
    courses: tuple[tuple[int, tuple[Food, ...]], ...]  # (course genre, foods)


def has_internat(data: SchoolData) -> bool:
    """A lycée with an internat (boarders dine at school)."""
    lycee = any(c.level in LYCEE_LEVELS for c in data.classes)
    return lycee and draw(data.seed, "internat") < INTERNAT_PROBABILITY


def meals_of(data: SchoolData, day: datetime.date) -> tuple[Meal, ...]:
    """The meals served on `day` (none on a day without classes)."""
    if not data.is_school_day(day):
        return ()
    meals = []
    if day.weekday() != 2:
        meals.append(_meal(data, day, LUNCH))
    if day.weekday() < 4 and has_internat(data):
        meals.append(_meal(data, day, DINNER))
    return tuple(meals)


def _meal(data: SchoolData, day: datetime.date, kind: int) -> Meal:
    key = f"{day:%Y%m%d}-{kind}"
    courses = []
    for course in COURSES:
        if kind == DINNER and course == FROMAGE:
            continue
        name, allergens = pick(FOODS[course], data.seed, "food", key, course)
        labels = tuple(
            label
            for n, (label, _) in enumerate(LABELS)
            if draw(data.seed, "label", key, course, n) < 0.15
        )
        courses.append((course, (Food(name, labels, allergens),)))
    return Meal(f"RE-{key}", kind, "Déjeuner" if kind == LUNCH else "Dîner", tuple(courses))
