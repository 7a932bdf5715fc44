"""The Console gRPC API (adapter): one class made of the hosting console's panels.

Each module of this package is one panel of the console (seed 004): `serveur` (Serveur
PRONOTE), `clients`, `pronote_net`, `mes_archives`, `mon_compte`; and the operator's parts
that are not a school's panel: `schools` (the fleet), `orders`, `clock`. Every RPC is a method
named after it, decorated with `panel.translated`. This class authorizes each call, then asks
the core or forwards the call to the school's agent, passing its reply (and its refusals)
through unchanged.
"""

from __future__ import annotations

from typing import Any

from datacenter.adapters.agents import AgentDirectory
from datacenter.adapters.console.clients import ClientsPanel
from datacenter.adapters.console.clock import ClockConsole
from datacenter.adapters.console.mes_archives import MesArchivesPanel
from datacenter.adapters.console.mon_compte import MonComptePanel
from datacenter.adapters.console.orders import OrdersConsole
from datacenter.adapters.console.panel import Context
from datacenter.adapters.console.pronote_net import PronoteNetPanel
from datacenter.adapters.console.schools import SchoolsConsole, school_message
from datacenter.adapters.console.serveur import DEFAULT_MAX_UPLOAD_BYTES, ServeurPanel
from datacenter.core import errors
from datacenter.core.auth import ConsoleAuth, Principal, require_school
from datacenter.core.fleet import Fleet, Populate
from datacenter.core.orders import Ordering
from datacenter.core.registry import SchoolRecord
from datacenter.core.sample_accounts import SampleAccounts
from datacenter.core.scheduler import Scheduler
from datacenter.core.uai import validate_uai
from protos import console_pb2_grpc

__all__ = ["ConsoleService", "school_message"]


class ConsoleService(
    SchoolsConsole,
    ServeurPanel,
    ClientsPanel,
    PronoteNetPanel,
    MesArchivesPanel,
    MonComptePanel,
    OrdersConsole,
    ClockConsole,
    console_pb2_grpc.ConsoleServicer,
):
    def __init__(
        self,
        fleet: Fleet,
        auth: ConsoleAuth,
        agents: AgentDirectory,
        client_port: int,
        populate_demo: Populate,
        ordering: Ordering,
        scheduler: Scheduler | None = None,
        max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    ) -> None:
        self._max_upload_bytes = max_upload_bytes
        self._ordering = ordering
        self._scheduler = scheduler
        self._fleet = fleet
        self._auth = auth
        self._agents = agents
        self._client_port = client_port
        self._populate_demo = populate_demo
        self._sample_accounts = SampleAccounts(
            fleet.registry, agents.add_sample_user, self._find_people, agents.issue_passwords
        )

    async def _find_people(
        self, record: SchoolRecord, kind: str, limit: int
    ) -> tuple[list[str], int]:
        people = await self._agents.people(record, [kind], limit)
        return [p.login for p in people.people], people.totals.get(kind, 0)

    def _principal(self, context: Context) -> Principal:
        metadata = dict(context.invocation_metadata() or ())
        token = str(metadata.get("authorization", "")).removeprefix("Bearer ").strip()
        return self._auth.principal(token)

    def _authorized_uai(self, context: Context, uai: str) -> str:
        principal = self._principal(context)
        uai = uai or principal.uai or ""
        if not uai:
            raise errors.InvalidArgument("say which school: give its UAI")
        uai = validate_uai(uai)
        require_school(principal, uai)
        return uai

    def _school(self, context: Context, uai: str) -> SchoolRecord:
        return self._fleet.registry.get(self._authorized_uai(context, uai))

    async def _forward(self, context: Context, uai: str, method: str, request: Any) -> Any:
        return await self._agents.call(self._school(context, uai), method, request)
