"""The Console's yearly cycle (adapter), mixed into ConsoleService: Mon compte > Changement de
version (pre-version, deferral, the switch's outcome) and "Récupérer les données de l'an
passé". The rules are in datacenter.core.year_cycle; the bases change on the school's agent."""

from __future__ import annotations

from typing import Any

import grpc

from datacenter.adapters.console.panel import ConsolePanel
from datacenter.core import errors
from datacenter.core.auth import require_operator
from datacenter.core.fleet import Fleet
from datacenter.core.scheduler import Scheduler
from datacenter.core.year_cycle import YearCycle, cycle_year, day_of, new_school_year
from protos import agent_pb2, common_pb2, console_pb2

# Every data kind of seed 003 p.9; the agent knows the list and checks the names.
ALL_KINDS = "all"


class YearConsole(ConsolePanel):
    _fleet: Fleet
    _scheduler: Scheduler | None

    def _cycle(self) -> tuple[Scheduler, YearCycle]:
        scheduler = self._scheduler
        if scheduler is None or scheduler.year_cycle is None:
            raise errors.Unavailable("this controller runs no yearly cycle")
        return scheduler, scheduler.year_cycle

    def _forget_year_cycle(self, uai: str) -> None:
        """A removed school's choices go with it: one provisioned again starts afresh."""
        if self._scheduler is not None and self._scheduler.year_cycle is not None:
            self._scheduler.year_cycle.forget(uai)

    def _version_change(self, uai: str) -> console_pb2.VersionChange:
        scheduler, cycle = self._cycle()
        year = cycle_year(day_of(scheduler.clock.now()))
        return console_pb2.VersionChange(**cycle.view(uai, year))

    async def _get_version_change(
        self, request: console_pb2.SchoolRef, context: grpc.aio.ServicerContext[Any, Any]
    ) -> console_pb2.VersionChange:
        return self._version_change(self._school(context, request.uai).uai)

    async def _list_version_changes(
        self, request: console_pb2.ListSchoolsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> console_pb2.VersionChanges:
        require_operator(self._principal(context), "see every school's version change")
        records = sorted(self._fleet.registry.all(), key=lambda r: r.uai)
        return console_pb2.VersionChanges(changes=[self._version_change(r.uai) for r in records])

    async def _request_preversion(
        self, request: console_pb2.SchoolRef, context: grpc.aio.ServicerContext[Any, Any]
    ) -> console_pb2.VersionChange:
        record = self._school(context, request.uai)
        scheduler, cycle = self._cycle()
        now = scheduler.clock.now()
        year = cycle.check_preversion(record.uai, now)
        reply = await self._agents.call(
            record,
            "SwitchYear",
            agent_pb2.SwitchYearRequest(school_year=new_school_year(year), at_seconds=now),
        )
        detail = reply.outcome if reply.outcome != "new_base" else f"{reply.detail}, unpublished"
        cycle.record_preversion(record.uai, year, now, detail)
        return self._version_change(record.uai)

    async def _defer_switch(
        self, request: console_pb2.DeferSwitchRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> console_pb2.VersionChange:
        record = self._school(context, request.uai)
        scheduler, cycle = self._cycle()
        cycle.defer(record.uai, scheduler.clock.now(), request.date, request.keep_base_in_service)
        return self._version_change(record.uai)

    async def _recover_last_year(
        self,
        request: console_pb2.RecoverLastYearRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> common_pb2.Recovery:
        record = self._school(context, request.uai)
        kinds = list(request.kinds)
        if request.all == bool(kinds):
            raise errors.InvalidArgument(
                "choose the data to recover: name one or more kinds, or ask for all of them"
            )
        if request.all:
            kinds = [ALL_KINDS]
        reply: common_pb2.Recovery = await self._agents.call(
            record, "RecoverLastYear", agent_pb2.RecoverLastYearRequest(kinds=kinds)
        )
        return reply
