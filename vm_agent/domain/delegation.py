"""Déléguer l'authentification (seed 004 Fiche 9): PRONOTE.net lets an ENT authenticate the
users of chosen espaces, through CAS, EduConnect, SAML2 or WS-Federation, with an ENT from the
catalogue or a manual configuration; direct authentication may stay allowed beside it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from common.ent_catalogue import CatalogueError, Protocol, find_ent, parse_protocol
from vm_agent.domain.errors import InvalidArgument
from vm_agent.domain.espaces import Espace, parse_espace

MANUAL = "Configuration manuelle"


@dataclass(frozen=True)
class Delegation:
    protocol: Protocol
    ent_id: str  # "" for a manual configuration
    ent_name: str  # the catalogue's name, or MANUAL
    parameters: Mapping[str, str]
    espaces: frozenset[Espace]
    allow_direct_authentication: bool = True

    def delegates(self, espace: Espace) -> bool:
        return espace in self.espaces

    def login_url(self, service_url: str) -> str:
        """Where PRONOTE.net sends a visitor of a delegated espace: the ENT's CAS login
        `<server_url>/login?service=<URL-encoded espace URL>` (the catalogue's stand-in
        host, never contacted); for the other protocols the identity provider's address."""
        service = quote(service_url, safe="")
        parameters = self.parameters
        if self.protocol is Protocol.CAS:
            return f"{parameters['server_url'].rstrip('/')}/login?service={service}"
        if self.protocol is Protocol.WS_FEDERATION:
            realm = quote(parameters["realm"], safe="")
            return f"{parameters['endpoint_url']}?wa=wsignin1.0&wtrealm={realm}&wreply={service}"
        origin = urlsplit(parameters["metadata_url"])
        return f"{origin.scheme}://{origin.netloc}/login?service={service}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "protocol": self.protocol.value,
            "ent_id": self.ent_id,
            "ent_name": self.ent_name,
            "parameters": dict(self.parameters),
            "espaces": sorted(e.value for e in self.espaces),
            "allow_direct_authentication": self.allow_direct_authentication,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Delegation:
        return cls(
            protocol=Protocol(data["protocol"]),
            ent_id=data.get("ent_id", ""),
            ent_name=data.get("ent_name", MANUAL),
            parameters=dict(data.get("parameters", {})),
            espaces=frozenset(Espace(e) for e in data.get("espaces", [])),
            allow_direct_authentication=bool(data.get("allow_direct_authentication", True)),
        )


def new_delegation(
    protocol: str,
    ent: str,
    parameters: Mapping[str, str],
    espaces: Iterable[str],
    allow_direct_authentication: bool,
) -> Delegation:
    """A delegation checked whole before anything changes: a catalogue ENT (whose protocol
    and parameters come with it) or a manual configuration with every parameter it needs."""
    chosen = _espaces(espaces)
    try:
        wanted = parse_protocol(protocol) if protocol else None
        if ent:
            entry = find_ent(ent)
        elif wanted is None:
            raise InvalidArgument(
                "choose an ENT from the catalogue (--ent), or a protocol for a manual "
                "configuration (--protocol cas|educonnect|saml2|ws-federation)"
            )
    except CatalogueError as error:
        raise InvalidArgument(str(error)) from None
    if ent:
        if wanted is not None and wanted is not entry.protocol:
            raise InvalidArgument(
                f"{entry.name} delegates through {entry.protocol.label}, not {wanted.label}: "
                "leave the protocol out or configure the delegation manually"
            )
        if parameters:
            raise InvalidArgument(
                f"{entry.name}'s parameters come from the catalogue; give parameters only for a "
                "manual configuration"
            )
        return Delegation(
            entry.protocol,
            entry.id,
            entry.name,
            dict(entry.parameters),
            chosen,
            allow_direct_authentication,
        )
    assert wanted is not None
    return Delegation(
        wanted,
        "",
        MANUAL,
        _manual_parameters(wanted, parameters),
        chosen,
        allow_direct_authentication,
    )


def _espaces(names: Iterable[str]) -> frozenset[Espace]:
    chosen = frozenset(parse_espace(n) for n in names)
    if not chosen:
        known = ", ".join(e.value for e in Espace)
        raise InvalidArgument(f"pick the espaces that use the delegation (among {known})")
    return chosen


def _manual_parameters(protocol: Protocol, given: Mapping[str, str]) -> dict[str, str]:
    required = protocol.required_parameters
    unknown = sorted(set(given) - set(required))
    if unknown:
        raise InvalidArgument(
            f"{protocol.label} takes the parameters {', '.join(required)}; not {', '.join(unknown)}"
        )
    missing = [p for p in required if not given.get(p, "").strip()]
    if missing:
        raise InvalidArgument(
            f"a manual {protocol.label} delegation needs {', '.join(missing)} "
            f"(--param {missing[0]}=...)"
        )
    for key, value in given.items():
        if key.endswith("_url") and not _is_https_url(value):
            raise InvalidArgument(f"{key} must be an https:// address, not {value!r}")
    return {key: given[key].strip() for key in required}


def _is_https_url(value: str) -> bool:
    parts = urlsplit(value.strip())
    return parts.scheme == "https" and bool(parts.hostname)
