"""The counters the console shows for a base (its own module: bases and the synthetic school
generator both need it)."""

from __future__ import annotations

from dataclasses import dataclass

from vm_agent.domain.errors import InvalidArgument


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


# The Scolarité and Vie scolaire counters a synthetic school counts in its data
# (`synthetic.count`): the costly part of a new base, left to its first listing with
# `count_later` (DESIGN decision 30).
COUNTED_FIELDS = (
    "devoirs",
    "notes",
    "cahiers_de_textes",
    "documents_joints",
    "evaluations",
    "sanctions",
    "punitions",
    "absences",
    "retards",
)


def resources_only(counters: BaseCounters) -> BaseCounters:
    """A copy with the Ressources counters only (the others 0)."""
    return BaseCounters(**{name: getattr(counters, name) for name in RESOURCE_FIELDS})


def resources_of(counters: BaseCounters) -> tuple[int, ...]:
    return tuple(getattr(counters, name) for name in RESOURCE_FIELDS)


# Bounds that keep a school's generation under a few seconds.
MAX_RESOURCES = {name: 5000 if name == "eleves" else 1000 for name in RESOURCE_FIELDS}


def check_resources(resources: BaseCounters, enseignant_capacity: int | None) -> None:
    """Ressources counters a synthetic school can be generated with."""
    for name, limit in MAX_RESOURCES.items():
        value = getattr(resources, name)
        if not 0 <= value <= limit:
            raise InvalidArgument(f"{name} = {value} is out of range: give 0 to {limit}")
    if enseignant_capacity is not None and resources.professeurs > enseignant_capacity:
        raise InvalidArgument(
            f"{resources.professeurs} professeurs exceed this formula's {enseignant_capacity} "
            "teachers; ask for fewer or order a larger formula"
        )
