"""The Mon compte panel of the Console API: the account (hosting number, formula, licence
expiry), renewal, "Recevoir mes identifiants", and the yearly cycle of Mon compte >
Changement de version (pre-version, deferral, the switch's outcome) and "Récupérer les données
de l'an passé". The rules are in datacenter.core.year_cycle; the bases change on the
school's agent."""

from __future__ import annotations

from datacenter.adapters.console.orders import order_detail
from datacenter.adapters.console.panel import ConsolePanel, Context, translated
from datacenter.adapters.wire import FORMULA_TO_PROTO
from datacenter.core import errors
from datacenter.core.auth import require_operator
from datacenter.core.orders import Ordering
from datacenter.core.scheduler import Scheduler
from datacenter.core.uai import validate_uai
from datacenter.core.year_cycle import YearCycle, cycle_year, day_of, new_school_year
from protos import agent_pb2, common_pb2, console_pb2

# Every data kind of seed 003 p.9; the agent knows the list and checks the names.
ALL_KINDS = "all"


class MonComptePanel(ConsolePanel):
    _ordering: Ordering

    @translated
    async def ResendCredentials(
        self, request: console_pb2.ResendCredentialsRequest, context: Context
    ) -> console_pb2.ResendCredentialsReply:
        if request.client_number:  # the public form: client number + UAI, no token
            uai = validate_uai(request.uai)
            self._ordering.check_client_number(uai, request.client_number)
        else:
            uai = self._authorized_uai(context, request.uai)
        resent = self._ordering.resend_credentials(uai)
        return console_pb2.ResendCredentialsReply(email=resent.email, mobile=resent.mobile)

    @translated
    async def RenewLicence(
        self, request: console_pb2.SchoolRef, context: Context
    ) -> console_pb2.OrderDetail:
        return order_detail(
            self._ordering, *self._ordering.renew(self._authorized_uai(context, request.uai))
        )

    @translated
    async def GetAccount(
        self, request: console_pb2.SchoolRef, context: Context
    ) -> console_pb2.Account:
        account = self._ordering.account(self._authorized_uai(context, request.uai))
        record, order = account.record, account.order
        expires = order.licence_expires_on if order else None
        return console_pb2.Account(
            uai=record.uai,
            name=record.name,
            hosting_number=record.hosting_number,
            client_number=order.client_number if order else "",
            formula=FORMULA_TO_PROTO[record.formula],
            licence_expires_on=expires.isoformat() if expires else "",
            administratif_licences=record.administratif_licences,
            responsable=console_pb2.Responsable(
                name=record.responsable.name,
                mobile=record.responsable.mobile,
                email=record.responsable.email,
            ),
            address=record.address,
            client_port=self._client_port,
        )

    def _cycle(self) -> tuple[Scheduler, YearCycle]:
        scheduler = self._scheduler
        if scheduler is None or scheduler.year_cycle is None:
            raise errors.Unavailable("this controller runs no yearly cycle")
        return scheduler, scheduler.year_cycle

    def _version_change(self, uai: str) -> console_pb2.VersionChange:
        scheduler, cycle = self._cycle()
        year = cycle_year(day_of(scheduler.clock.now()))
        return console_pb2.VersionChange(**cycle.view(uai, year))

    @translated
    async def GetVersionChange(
        self, request: console_pb2.SchoolRef, context: Context
    ) -> console_pb2.VersionChange:
        return self._version_change(self._school(context, request.uai).uai)

    @translated
    async def ListVersionChanges(
        self, request: console_pb2.ListSchoolsRequest, context: Context
    ) -> console_pb2.VersionChanges:
        require_operator(self._principal(context), "see every school's version change")
        records = sorted(self._fleet.registry.all(), key=lambda r: r.uai)
        return console_pb2.VersionChanges(changes=[self._version_change(r.uai) for r in records])

    @translated
    async def RequestPreversion(
        self, request: console_pb2.SchoolRef, context: Context
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

    @translated
    async def DeferSwitch(
        self, request: console_pb2.DeferSwitchRequest, context: Context
    ) -> console_pb2.VersionChange:
        record = self._school(context, request.uai)
        scheduler, cycle = self._cycle()
        cycle.defer(record.uai, scheduler.clock.now(), request.date, request.keep_base_in_service)
        return self._version_change(record.uai)

    @translated
    async def RecoverLastYear(
        self,
        request: console_pb2.RecoverLastYearRequest,
        context: Context,
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
