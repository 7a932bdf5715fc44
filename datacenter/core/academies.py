"""The académie of a school, from the département its UAI starts with (DOMAIN.md, UAI).

A UAI's first three characters are its département: 075 is Paris, 013 Bouches-du-Rhône,
620 and 720 are Corse-du-Sud and Haute-Corse, 971 to 976 the overseas académies. Names are
those of the académies' domains (ac-<name>.fr) since the 2020 reform (one Normandie).
"""

from __future__ import annotations

_DEPARTEMENTS: dict[str, tuple[str, ...]] = {
    "aix-marseille": ("04", "05", "13", "84"),
    "amiens": ("02", "60", "80"),
    "besancon": ("25", "39", "70", "90"),
    "bordeaux": ("24", "33", "40", "47", "64"),
    "clermont": ("03", "15", "43", "63"),
    "corse": ("2A", "2B"),
    "creteil": ("77", "93", "94"),
    "dijon": ("21", "58", "71", "89"),
    "grenoble": ("07", "26", "38", "73", "74"),
    "lille": ("59", "62"),
    "limoges": ("19", "23", "87"),
    "lyon": ("01", "42", "69"),
    "montpellier": ("11", "30", "34", "48", "66"),
    "nancy-metz": ("54", "55", "57", "88"),
    "nantes": ("44", "49", "53", "72", "85"),
    "nice": ("06", "83"),
    "normandie": ("14", "27", "50", "61", "76"),
    "orleans-tours": ("18", "28", "36", "37", "41", "45"),
    "paris": ("75",),
    "poitiers": ("16", "17", "79", "86"),
    "reims": ("08", "10", "51", "52"),
    "rennes": ("22", "29", "35", "56"),
    "strasbourg": ("67", "68"),
    "toulouse": ("09", "12", "31", "32", "46", "65", "81", "82"),
    "versailles": ("78", "91", "92", "95"),
    "guadeloupe": ("971",),
    "martinique": ("972",),
    "guyane": ("973",),
    "reunion": ("974",),
    "mayotte": ("976",),
}
ACADEMIE_OF_DEPARTEMENT = {d: a for a, ds in _DEPARTEMENTS.items() for d in ds}
_CORSICA = {"620": "2A", "720": "2B"}


def departement_of(uai: str) -> str:
    prefix = uai[:3]
    if prefix in _CORSICA:
        return _CORSICA[prefix]
    if prefix.startswith("97"):
        return prefix
    return prefix[1:] if prefix.startswith("0") else prefix


def academie_of(uai: str) -> str | None:
    """The académie's name, or None when the département is not one we know."""
    return ACADEMIE_OF_DEPARTEMENT.get(departement_of(uai))
