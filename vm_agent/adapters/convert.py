"""Domain dataclasses -> protocol messages."""

from __future__ import annotations

from dataclasses import asdict

from protos import agent_pb2, common_pb2
from vm_agent.domain.bases import Base, ServerState, User
from vm_agent.domain.counters import RESOURCE_FIELDS, BaseCounters
from vm_agent.domain.licences import LicenceUsage
from vm_agent.domain.modes import Mode, UserKind
from vm_agent.domain.pronote_net import WebConnection
from vm_agent.domain.school_data import Person, Responsable
from vm_agent.domain.security import Suspension
from vm_agent.domain.sessions import Session

MODE_TO_PROTO = {
    Mode.ADMINISTRATIF: common_pb2.MODE_ADMINISTRATIF,
    Mode.ENSEIGNANT: common_pb2.MODE_ENSEIGNANT,
    Mode.VIE_SCOLAIRE: common_pb2.MODE_VIE_SCOLAIRE,
    Mode.EDT: common_pb2.MODE_EDT,
}
MODE_FROM_PROTO = {value: key for key, value in MODE_TO_PROTO.items()}

USER_KIND_TO_PROTO = {
    UserKind.PERSONNEL: common_pb2.USER_KIND_PERSONNEL,
    UserKind.PROFESSEUR: common_pb2.USER_KIND_PROFESSEUR,
    UserKind.ELEVE: common_pb2.USER_KIND_ELEVE,
    UserKind.RESPONSABLE: common_pb2.USER_KIND_RESPONSABLE,
}
USER_KIND_FROM_PROTO = {value: key for key, value in USER_KIND_TO_PROTO.items()}

STATE_TO_PROTO = {
    ServerState.STOPPED: common_pb2.SERVER_STATE_STOPPED,
    ServerState.SERVING: common_pb2.SERVER_STATE_SERVING,
}


def base(value: Base, in_service: bool) -> common_pb2.Base:
    spr = value.spr
    return common_pb2.Base(
        id=value.id,
        name=value.name,
        school_year=value.school_year,
        created_at_seconds=value.created_at_seconds,
        in_service=in_service,
        counters=common_pb2.BaseCounters(**asdict(value.counters)),
        spr_login=spr.login if spr else "",
        ever_in_service=value.ever_in_service,
        origin=value.origin,
        synthetic_seed=value.seed,
        records=value.records,
        counters_pending=not value.counted,
    )


def resources(value: common_pb2.BaseCounters) -> BaseCounters:
    """The Ressources counters of a protocol message (the others are computed)."""
    return BaseCounters(**{name: getattr(value, name) for name in RESOURCE_FIELDS})


def licence_usage(value: LicenceUsage) -> common_pb2.LicenceUsage:
    return common_pb2.LicenceUsage(
        administratif_in_use=value.administratif_in_use,
        administratif_capacity=value.administratif_capacity,
        reserved_for_administration=value.reserved_for_administration,
        enseignant_in_use=value.enseignant_in_use,
        enseignant_capacity=value.enseignant_capacity or 0,
        vie_scolaire_in_use=value.vie_scolaire_in_use,
        edt_in_use=value.edt_in_use,
    )


def connection(value: Session) -> common_pb2.Connection:
    return common_pb2.Connection(
        session_id=value.id,
        poste=value.poste,
        application=value.application,
        state=value.state,
        mode=MODE_TO_PROTO[value.mode],
        user=value.display_name,
        base=value.base_name,
        source_ip=value.source_ip,
        connected_at_seconds=value.connected_at_seconds,
        last_seen_seconds=value.last_seen_seconds,
    )


def web_connection(value: WebConnection) -> common_pb2.Connection:
    return common_pb2.Connection(
        session_id=value.id,
        poste=value.poste,
        application=value.application,
        state="Connecté",
        mode=common_pb2.MODE_UNSPECIFIED,  # PRONOTE.net has no Client mode, takes no licence
        user=value.user,
        base=value.base_name,
        source_ip=value.source_ip,
        connected_at_seconds=value.connected_at_seconds,
        last_seen_seconds=value.last_seen_seconds,
    )


def suspended_ip(value: Suspension) -> common_pb2.SuspendedIp:
    return common_pb2.SuspendedIp(
        ip=value.ip,
        suspended_at_seconds=value.since_seconds,
        suspended_until_seconds=value.until_seconds,
        failures=value.failures,
    )


def issued_user(value: User) -> agent_pb2.IssuedUser:
    return agent_pb2.IssuedUser(
        login=value.login,
        display_name=value.display_name,
        kind=USER_KIND_TO_PROTO[value.kind],
        group=value.group,
    )


def person(value: Person, logins: dict[str, str]) -> agent_pb2.Person:
    children = value.child_ids if isinstance(value, Responsable) else ()
    return agent_pb2.Person(
        id=value.id,
        login=value.login,
        display_name=value.display_name,
        kind=value.kind.value,
        child_logins=[logins[c] for c in children if c in logins],
    )
