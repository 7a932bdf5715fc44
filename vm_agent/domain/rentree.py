"""The rentrée on one school's server (DOMAIN.md "Yearly cycle", seed 003 p.9, seed 004 Fiches
6 and 12): the data kinds "Récupérer les données de l'an passé" can carry from last year's
July archive into the base in service, and what each carries. Plain Python."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass

from vm_agent.domain.bases import Base
from vm_agent.domain.errors import InvalidArgument
from vm_agent.domain.modes import UserKind

IDENTIFIANTS = "identifiants_et_mots_de_passe"
ALL = "all"  # every kind ("Cochez toutes les données à récupérer")

# The data kinds of seed 003 p.9, in its order: (kind, label in the console).
DATA_KINDS: tuple[tuple[str, str], ...] = (
    ("autorisations", "Autorisations"),
    ("maquettes", "Maquettes"),
    ("lettres_sms_emails_types", "Lettres, SMS, e-mails types"),
    ("referentiels_de_competences", "Référentiels de compétences"),
    ("elements_du_programme", "Éléments du programme"),
    ("casiers_numeriques", "Casiers numériques"),
    ("emails", "E-mails"),
    ("photos", "Photos"),
    ("progressions_et_qcm", "Progressions & QCM"),
    (IDENTIFIANTS, "Identifiants et mots de passe"),
    ("suivi_pluriannuel", "Suivi pluriannuel"),
    ("motifs_d_absences", "Motifs d'absences"),
    ("infos_medicales", "Infos médicales"),
    ("autorisations_de_sortie", "Autorisations de sortie"),
    ("memos_de_vie_scolaire", "Mémos de vie scolaire"),
    ("orientations", "Orientations"),
    ("partenaires", "Partenaires"),
    ("entreprises", "Entreprises"),
    ("decrochages_scolaires", "Décrochages scolaires"),
)
LABELS = dict(DATA_KINDS)


def parse_kinds(names: list[str]) -> list[str]:
    """The kinds asked for, by name or label, in the console's order; refuses unknown ones."""
    if not names:
        raise InvalidArgument("choose the data to recover: one or more kinds, or all of them")
    if ALL in names:
        return [kind for kind, _ in DATA_KINDS]
    by_label = {label.lower(): kind for kind, label in DATA_KINDS}
    chosen = set()
    for name in names:
        kind = name if name in LABELS else by_label.get(name.strip().lower())
        if kind is None:
            known = ", ".join(LABELS)
            raise InvalidArgument(f"no data kind {name!r}: choose among {known}, or all")
        chosen.add(kind)
    return [kind for kind, _ in DATA_KINDS if kind in chosen]


def sample_records(uai: str, school_year: str) -> dict[str, int]:
    """What a demo school's base holds by the end of its year, per data kind (deterministic
    from the UAI and year). Identifiants are the base's own users, not a count."""
    records = {}
    for kind, _ in DATA_KINDS:
        if kind == IDENTIFIANTS:
            continue
        digest = hashlib.sha256(f"{uai}/{school_year}/{kind}".encode()).digest()
        records[kind] = 1 + digest[0] % 40
    return records


@dataclass(frozen=True)
class Recovered:
    kind: str
    records: int


def recover(target: Base, source: Base, kinds: list[str]) -> list[Recovered]:
    """Carry `kinds` from last year's `source` base into `target`, all or nothing: users (with
    their passwords) for the identifiants, record counts for the others. Users the target
    already has (the SPR carried over by the switch) keep their new-year account."""
    records = dict(target.records)
    users = dict(target.users)
    taken = {login.lower() for login in users}
    done = []
    for kind in kinds:
        if kind == IDENTIFIANTS:
            carried = [u for u in source.users.values() if u.login.lower() not in taken]
            for user in carried:
                users[user.login] = dataclasses.replace(user, is_spr=False)
            count = len(carried)
        else:
            count = source.records.get(kind, 0)
        records[kind] = count
        done.append(Recovered(kind, count))
    target.users = users
    target.records = records
    target.counters.professeurs = sum(1 for u in users.values() if u.kind is UserKind.PROFESSEUR)
    return done


@dataclass(frozen=True)
class YearSwitch:
    """What the version switch did: "new_base" (put in service), "kept" or "skipped"."""

    outcome: str
    base: Base | None
    detail: str = ""


def previous_school_year(school_year: str) -> str:
    first = int(school_year[:4])
    return f"{first - 1}-{first}"
