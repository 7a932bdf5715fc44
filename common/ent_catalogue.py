"""The ENTs a school can delegate PRONOTE.net's authentication to, and their protocols
(seed 004 Fiche 9). The catalogue is a data file beside this module; the school's server
checks a delegation against it, the console lists it."""

from __future__ import annotations

import enum
import functools
import json
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

CATALOGUE_FILE = Path(__file__).with_name("ent_catalogue.json")


class Protocol(enum.Enum):
    CAS = "cas"
    EDUCONNECT = "educonnect"
    SAML2 = "saml2"
    WS_FEDERATION = "ws-federation"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def required_parameters(self) -> tuple[str, ...]:
        """What a manual configuration must give ("URL du serveur d'authentification"...)."""
        return _REQUIRED[self]


_LABELS = {
    Protocol.CAS: "CAS",
    Protocol.EDUCONNECT: "EduConnect",
    Protocol.SAML2: "SAML2",
    Protocol.WS_FEDERATION: "WS-Federation",
}
_REQUIRED = {
    Protocol.CAS: ("server_url",),
    Protocol.EDUCONNECT: ("metadata_url",),
    Protocol.SAML2: ("metadata_url", "entity_id"),
    Protocol.WS_FEDERATION: ("endpoint_url", "realm"),
}
_ALIASES = {"wsfed": Protocol.WS_FEDERATION, "ws-fed": Protocol.WS_FEDERATION}


class CatalogueError(ValueError):
    """An unknown protocol or ENT; the message lists what exists."""


def parse_protocol(name: str) -> Protocol:
    key = name.strip().lower()
    for protocol in Protocol:
        if key in (protocol.value, protocol.label.lower()):
            return protocol
    if key in _ALIASES:
        return _ALIASES[key]
    known = ", ".join(p.value for p in Protocol)
    raise CatalogueError(f"no delegation protocol {name!r}: choose one of {known}")


@dataclass(frozen=True)
class Ent:
    id: str
    name: str
    protocol: Protocol
    parameters: MappingProxyType[str, str]


@functools.cache
def catalogue() -> tuple[Ent, ...]:
    data: dict[str, Any] = json.loads(CATALOGUE_FILE.read_text(encoding="utf-8"))
    return tuple(
        Ent(
            id=entry["id"],
            name=entry["name"],
            protocol=Protocol(entry["protocol"]),
            parameters=MappingProxyType(dict(entry["parameters"])),
        )
        for entry in data["ents"]
    )


def find_ent(reference: str) -> Ent:
    """An ENT by its id (`ecollege31`) or its full name, case-insensitively."""
    key = reference.strip().casefold()
    for ent in catalogue():
        if key in (ent.id.casefold(), ent.name.casefold()):
            return ent
    raise CatalogueError(
        f"no ENT {reference!r} in the catalogue: list it with `pronote-dc console pronote-net "
        "ents`, or configure the delegation manually (--protocol and --param)"
    )
