"""The identifiers file for the ENT (seed 002 step 6: "IdPN_To_Kosmos.xml"): every user of the
base in service with a stable PRONOTE identifier, so the ENT can map its accounts to them."""

from __future__ import annotations

import datetime
import hashlib
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass

from vm_agent.domain.bases import Base
from vm_agent.domain.delegation import Delegation
from vm_agent.domain.errors import WrongState
from vm_agent.domain.school_data import SchoolData

FORMAT_VERSION = "1"


@dataclass(frozen=True)
class Identity:
    """One user as the ENT sees it."""

    pronote_id: str
    kind: str  # personnel, professeur, eleve, responsable...
    login: str
    name: str


@dataclass(frozen=True)
class IdentifiersFile:
    file_name: str
    data: bytes
    count: int


def pronote_id(rne: str, login: str) -> str:
    """Stable across exports and bases: the same login of the same school keeps its id."""
    digest = hashlib.sha256(f"{rne.upper()}/{login.casefold()}".encode()).hexdigest()
    return "PN" + digest[:14].upper()


def base_identities(rne: str, base: Base) -> list[Identity]:
    """The base's users but the SPR, whose account stays PRONOTE's own."""
    return [
        Identity(pronote_id(rne, u.login), u.kind.value, u.login, u.display_name)
        for u in base.users.values()
        if not u.is_spr
    ]


def people_identities(rne: str, roster: SchoolData) -> list[Identity]:
    """Every person of the base's synthetic school: teachers, students, parents, staff."""
    people = (*roster.teachers, *roster.students, *roster.responsables, *roster.staff)
    return [
        Identity(pronote_id(rne, p.login), p.kind.value, p.login, p.display_name) for p in people
    ]


def export_identifiers(
    rne: str,
    base: Base | None,
    delegation: Delegation | None,
    exported_at_seconds: float,
    people: Iterable[Identity] = (),
) -> IdentifiersFile:
    """The base's accounts and its school's people (`people`), once each by login."""
    if delegation is None:
        raise WrongState(
            "delegate the authentication to an ENT first (`pronote-dc console pronote-net "
            "delegate`): the identifiers file is for that ENT"
        )
    if base is None:
        raise WrongState("put a base in service first: its users are what is exported")
    by_login = {i.login.casefold(): i for i in base_identities(rne, base)}
    by_login.update({i.login.casefold(): i for i in people})  # a person's own kind wins
    identities = sorted(by_login.values(), key=lambda i: i.login.casefold())
    when = datetime.datetime.fromtimestamp(exported_at_seconds, tz=datetime.UTC)
    root = ET.Element(
        "IdentifiantsPRONOTE",
        {
            "version": FORMAT_VERSION,
            "rne": rne,
            "base": base.name,
            "ent": delegation.ent_name,
            "protocole": delegation.protocol.label,
            "date": when.isoformat(timespec="seconds"),
        },
    )
    for identity in identities:
        ET.SubElement(
            root,
            "Utilisateur",
            {
                "id": identity.pronote_id,
                "genre": identity.kind,
                "login": identity.login,
                "nom": identity.name,
            },
        )
    ET.indent(root)
    data = ET.tostring(root, encoding="UTF-8", xml_declaration=True) + b"\n"
    return IdentifiersFile(f"IdPN_To_{delegation.ent_id or 'ENT'}.xml", data, len(identities))
