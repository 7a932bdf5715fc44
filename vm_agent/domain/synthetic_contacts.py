"""Contact details of a synthetic school's people, computed from the seed (not stored).

Obviously synthetic: e-mails at `example.net`, mobile numbers `06 00 xx xx xx` (a range no
operator is given), INE numbers of ten digits and a letter. A student lives with their first
parent (same address); the town follows the school's département (the UAI's first digits).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from vm_agent.domain.school_data import Person, Responsable, SchoolData, Student
from vm_agent.domain.synthetic_draw import digits, pick

STREETS = ("rue de la République", "avenue Jean Jaurès", "rue Victor Hugo", "place de la Mairie",
           "rue Pasteur", "boulevard Gambetta", "rue des Écoles", "allée des Tilleuls")  # fmt: skip
TOWNS = {"075": "Paris", "013": "Marseille", "069": "Lyon", "031": "Toulouse", "033": "Bordeaux",
         "059": "Lille", "067": "Strasbourg", "044": "Nantes", "006": "Nice"}  # fmt: skip
OTHER_TOWNS = ("Villeneuve", "Saint-Martin", "Beaumont", "Montigny", "Fontaine", "Bellevue")
RELATIONS = {0: "MERE", 1: "PERE"}


@dataclass(frozen=True)
class Contact:
    address: tuple[str, str, str, str]  # adresse1..4
    postal_code: str
    city: str
    province: str
    country: str
    email: str
    mobile: str  # national format, "06 00 12 34 56"
    ine: str  # students only, else ""

    @property
    def mobile_digits(self) -> str:
        """Without the leading 0, after the country code 33 ("600123456")."""
        return self.mobile.replace(" ", "")[1:]


def contact_of(data: SchoolData, person: Person) -> Contact:
    home = _home_of(data, person)
    department = data.seed[:3] if data.seed[:3].isdigit() else "075"
    city = TOWNS.get(department) or pick(OTHER_TOWNS, data.seed, "town")
    number = 1 + int(digits(2, data.seed, "number", home))
    street = pick(STREETS, data.seed, "street", home)
    mobile = digits(6, data.seed, "mobile", person.id)
    ine = ""
    if isinstance(person, Student):
        ine = digits(10, data.seed, "ine", person.id) + pick(
            "ABCDEFGHJK", data.seed, "ine-key", person.id
        )
    local = f"{_ascii(person.first_name)}.{_ascii(person.last_name)}.{person.id.lower()}"
    return Contact(
        address=(f"{number} {street}", "", "", ""),
        postal_code=f"{department[1:]}{digits(3, data.seed, 'postal', home)}",
        city=city,
        province="",
        country="France",
        email=f"{local}@example.net",
        mobile=f"06 00 {mobile[:2]} {mobile[2:4]} {mobile[4:]}",
        ine=ine,
    )


def parents_of(data: SchoolData, student_id: str) -> list[Responsable]:
    return [r for r in data.responsables if student_id in r.child_ids]


def relation(data: SchoolData, responsable: Responsable, student_id: str) -> str:
    """ "MERE" for a family's first parent, "PERE" for the second (as they are generated)."""
    parents = parents_of(data, student_id)
    return RELATIONS.get(parents.index(responsable) if responsable in parents else 0, "AUTRE")


def _home_of(data: SchoolData, person: Person) -> str:
    if isinstance(person, Student):
        parents = parents_of(data, person.id)
        return parents[0].id if parents else person.id
    return person.id


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return "".join(c if c.isalnum() else "-" for c in plain).strip("-")
