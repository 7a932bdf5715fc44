"""Domain dataclasses -> protocol messages."""

from __future__ import annotations

from dataclasses import asdict

from protos import common_pb2
from vm_agent.domain.bases import Base, ServerState
from vm_agent.domain.licences import LicenceUsage
from vm_agent.domain.modes import Mode
from vm_agent.domain.security import Suspension
from vm_agent.domain.sessions import Session

MODE_TO_PROTO = {
    Mode.ADMINISTRATIF: common_pb2.MODE_ADMINISTRATIF,
    Mode.ENSEIGNANT: common_pb2.MODE_ENSEIGNANT,
    Mode.VIE_SCOLAIRE: common_pb2.MODE_VIE_SCOLAIRE,
    Mode.EDT: common_pb2.MODE_EDT,
}
MODE_FROM_PROTO = {value: key for key, value in MODE_TO_PROTO.items()}

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
        records=value.records,
    )


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


def suspended_ip(value: Suspension) -> common_pb2.SuspendedIp:
    return common_pb2.SuspendedIp(
        ip=value.ip,
        suspended_at_seconds=value.since_seconds,
        suspended_until_seconds=value.until_seconds,
        failures=value.failures,
    )
