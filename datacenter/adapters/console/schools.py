"""The operator's fleet in the Console API (not a panel of the school's console): log in,
provision, list, show and remove schools, and the sample accounts of load tests."""

from __future__ import annotations

import grpc

from datacenter.adapters.console.panel import (
    FORWARDED_FOR_METADATA,
    FRONT_END_METADATA,
    ConsolePanel,
    Context,
    peer_ip,
    translated,
)
from datacenter.adapters.wire import FORMULA_FROM_PROTO, FORMULA_TO_PROTO, MODE_TO_PROTO
from datacenter.core import errors
from datacenter.core.auth import ConsoleAuth, require_operator
from datacenter.core.contacts import Responsable
from datacenter.core.fleet import DEFAULT_ADMINISTRATIF_LICENCES, Fleet, Populate, SchoolOrder
from datacenter.core.registry import SchoolRecord
from datacenter.core.sample_accounts import SampleAccounts
from datacenter.core.uai import validate_uai
from protos import agent_pb2, common_pb2, console_pb2

# GetSchool still answers when the school's server does not: it waits this long at most.
PUBLICATION_TIMEOUT_SECONDS = 3.0


def school_message(record: SchoolRecord, fleet: Fleet, client_port: int) -> console_pb2.School:
    return console_pb2.School(
        uai=record.uai,
        name=record.name,
        formula=FORMULA_TO_PROTO[record.formula],
        responsable=console_pb2.Responsable(
            name=record.responsable.name,
            mobile=record.responsable.mobile,
            email=record.responsable.email,
        ),
        hosting_number=record.hosting_number,
        invoice_number=record.invoice_number,
        address=record.address,
        client_port=client_port,
        state=fleet.status(record.uai).value,
        administratif_licences=record.administratif_licences,
        sample_accounts=[
            console_pb2.SampleAccount(
                role=a.role,
                mode=MODE_TO_PROTO.get(a.mode, common_pb2.MODE_UNSPECIFIED),
                login=a.login,
                password=a.password,
                espaces=a.espaces,
            )
            for a in record.sample_accounts
        ],
        created_at_seconds=record.created_at,
        pid=fleet.pids.get(record.uai, 0),
        node=fleet.nodes.get(record.uai, ""),
    )


class SchoolsConsole(ConsolePanel):
    _auth: ConsoleAuth
    _populate_demo: Populate
    _sample_accounts: SampleAccounts

    async def _add_publication(self, record: SchoolRecord, school: console_pb2.School) -> None:
        """`school show`'s PRONOTE.net part, or "unknown" if the school does not answer."""
        try:
            publication = await self._agents.stub(record).GetPublication(
                agent_pb2.Empty(),
                metadata=self._agents.metadata(record),
                timeout=PUBLICATION_TIMEOUT_SECONDS,
            )
        except grpc.aio.AioRpcError:
            school.pronote_net = "unknown"
            return
        school.pronote_net = "published" if publication.published else "stopped"
        school.espaces.extend(publication.espaces)

    def _caller_ip(self, context: Context) -> str:
        """The address a console login is throttled on: the gRPC peer's, or the browser's that
        the controller's own web console names (with its front-end token, DESIGN decision 28)."""
        metadata = {key: str(value) for key, value in context.invocation_metadata() or ()}
        forwarded = metadata.get(FORWARDED_FOR_METADATA, "")
        if forwarded and self._auth.trusts_front_end(metadata.get(FRONT_END_METADATA, "")):
            return forwarded
        return peer_ip(context.peer())

    @translated
    async def Login(
        self, request: console_pb2.LoginRequest, context: Context
    ) -> console_pb2.LoginReply:
        login = self._auth.login(
            request.hosting_number,
            request.password,
            request.invoice_number,
            self._caller_ip(context),
        )
        return console_pb2.LoginReply(
            token=login.token, uai=login.uai, expires_at_seconds=login.expires_at_seconds
        )

    @translated
    async def ProvisionSchool(
        self, request: console_pb2.ProvisionSchoolRequest, context: Context
    ) -> console_pb2.ProvisionedSchool:
        require_operator(self._principal(context), "provision schools")
        if request.formula not in FORMULA_FROM_PROTO:
            raise errors.InvalidArgument("choose a formula: 30, 50, 80 or unlimited")
        order = SchoolOrder(
            uai=request.uai,
            name=request.name,
            formula=FORMULA_FROM_PROTO[request.formula],
            responsable=Responsable(
                request.responsable.name, request.responsable.mobile, request.responsable.email
            ),
            administratif_licences=request.administratif_licences or DEFAULT_ADMINISTRATIF_LICENCES,
        )
        provisioned = await self._fleet.provision(
            order, self._populate_demo if request.demo else None
        )
        return console_pb2.ProvisionedSchool(
            school=school_message(provisioned.record, self._fleet, self._client_port),
            console_password=provisioned.console_password,
        )

    @translated
    async def ListSchools(
        self, request: console_pb2.ListSchoolsRequest, context: Context
    ) -> console_pb2.Schools:
        require_operator(self._principal(context), "list every school")
        return console_pb2.Schools(
            schools=[
                school_message(r, self._fleet, self._client_port)
                for r in self._fleet.registry.all()
            ]
        )

    @translated
    async def GetSchool(
        self, request: console_pb2.SchoolRef, context: Context
    ) -> console_pb2.School:
        record = self._school(context, request.uai)
        school = school_message(record, self._fleet, self._client_port)
        await self._add_publication(record, school)
        return school

    @translated
    async def DeprovisionSchool(
        self, request: console_pb2.SchoolRef, context: Context
    ) -> console_pb2.DeprovisionReply:
        require_operator(self._principal(context), "deprovision schools")
        await self._fleet.deprovision(request.uai)
        uai = validate_uai(request.uai)
        self._auth.forget_school(uai)
        if self._scheduler is not None and self._scheduler.year_cycle is not None:
            self._scheduler.year_cycle.forget(uai)  # one provisioned again starts afresh
        return console_pb2.DeprovisionReply()

    @translated
    async def EnsureSampleAccounts(
        self, request: console_pb2.EnsureSampleAccountsRequest, context: Context
    ) -> console_pb2.School:
        require_operator(self._principal(context), "create sample accounts")
        record = self._fleet.registry.get(validate_uai(request.uai))
        record = await self._sample_accounts.ensure(record.uai, request.role, request.count)
        return school_message(record, self._fleet, self._client_port)
