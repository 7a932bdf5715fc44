"""The counters the console shows for a base (its own module: bases and the synthetic school
generator both need it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class BaseCounters:
    """The counters the console shows for a base (DOMAIN.md, "Bases")."""

    professeurs: int = 0
    matieres: int = 0
    classes: int = 0
    groupes: int = 0
    eleves: int = 0
    salles: int = 0
    devoirs: int = 0
    notes: int = 0
    cahiers_de_textes: int = 0
    appreciations: int = 0
    documents_joints: int = 0
    evaluations: int = 0
    sanctions: int = 0
    punitions: int = 0
    absences: int = 0
    retards: int = 0
    suivis: int = 0
    # Annexes completed from the school's own server (.HPHOTOS, .HCOURRIERS).
    photos: int = 0
    courriers: int = 0


# The Ressources counters: a synthetic school is generated to match them exactly.
RESOURCE_FIELDS = ("professeurs", "matieres", "classes", "groupes", "eleves", "salles")


def resources_of(counters: BaseCounters) -> tuple[int, ...]:
    return tuple(getattr(counters, name) for name in RESOURCE_FIELDS)
