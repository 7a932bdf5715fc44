"""Demo schools: plausible, deterministic orders and sample accounts anyone can try."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from common.secrets import new_password
from datacenter.core.contacts import Responsable
from datacenter.core.fleet import SchoolOrder
from datacenter.core.registry import SampleAccount
from datacenter.core.uai import make_uai

# Département prefixes of the UAI (Paris, Rhône, Bouches-du-Rhône, Haute-Garonne, Gironde...).
_DEPARTEMENTS = ["075", "069", "013", "031", "033", "044", "059", "067", "006", "034"]
_PATRONS = [
    "Jean Moulin", "Victor Hugo", "Jules Ferry", "Marie Curie", "Louis Pasteur", "Jean Jaurès",
    "Simone Veil", "Albert Camus", "Paul Éluard", "Jacques Prévert", "Condorcet", "Voltaire",
    "George Sand", "Émile Zola", "Colette", "Jean de La Fontaine",
]  # fmt: skip
_KINDS = ["Collège", "Lycée", "Lycée polyvalent"]
_FORMULAS = ["30", "50", "80", "unlimited"]


def demo_orders(taken: set[str]) -> Iterator[SchoolOrder]:
    """Endless orders for demo schools, skipping taken UAIs."""
    for index in itertools.count():
        departement = _DEPARTEMENTS[index % len(_DEPARTEMENTS)]
        # A UAI starts with the département (075 Paris...), then 4 digits and the letter.
        uai = make_uai(f"{departement}{6000 + index // len(_DEPARTEMENTS):04d}")
        if uai in taken:
            continue
        name = f"{_KINDS[index % len(_KINDS)]} {_PATRONS[index % len(_PATRONS)]}"
        responsable = Responsable(
            name="Responsable hébergement",
            mobile="612345678",
            email=f"ce.{uai.lower()}@ac-demo.example",
        )
        yield SchoolOrder(uai, name, _FORMULAS[index % len(_FORMULAS)], responsable)


def sample_accounts() -> list[SampleAccount]:
    """The SPR and an administrator, with fresh passwords; the school's own people (a
    teacher, a CPE, a student, a parent) get theirs once its base is in service."""
    return [
        SampleAccount("spr", "administratif", "spr", new_password(), ("client",)),
        SampleAccount(
            "administratif", "administratif", "admin.durand", new_password(), ("client",)
        ),
    ]


# Sample accounts given to people of the synthetic school: role -> (kind of person in the
# school, Client PRONOTE mode or "", where they log in).
SYNTHETIC_ROLES = {
    "enseignant": ("professeur", "enseignant", ("client", "professeur")),
    "vie_scolaire": ("vie_scolaire", "vie_scolaire", ("client", "viescolaire")),
    "parent": ("responsable", "", ("parent",)),
    "eleve": ("eleve", "", ("eleve",)),
}


def synthetic_account(role: str, login: str, password: str = "") -> SampleAccount:
    """A sample account for a person of the synthetic school (a fresh password unless
    given)."""
    _, mode, espaces = SYNTHETIC_ROLES[role]
    return SampleAccount(role, mode, login, password or new_password(), espaces)
