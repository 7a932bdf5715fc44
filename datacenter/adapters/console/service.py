"""The Console gRPC API (adapter): authorizes each call, then asks the fleet or forwards the
call to the school's agent, passing its reply (and its refusals) through unchanged."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc

from datacenter.adapters.agents import AgentDirectory
from datacenter.adapters.console.mes_archives import BackupsConsole
from datacenter.adapters.console.orders import OrderingRpcs
from datacenter.adapters.console.pronote_net import PronoteNetConsole
from datacenter.adapters.console.serveur import DEFAULT_MAX_UPLOAD_BYTES, BaseFilesConsole
from datacenter.adapters.console.year import YearConsole
from datacenter.adapters.wire import FORMULA_FROM_PROTO, FORMULA_TO_PROTO, MODE_TO_PROTO
from datacenter.core import errors
from datacenter.core.auth import ConsoleAuth, Principal, require_operator, require_school
from datacenter.core.fleet import DEFAULT_ADMINISTRATIF_LICENCES, Fleet, Populate, SchoolOrder
from datacenter.core.orders import Ordering
from datacenter.core.registry import Responsable, SchoolRecord
from datacenter.core.sample_accounts import SampleAccounts
from datacenter.core.scheduler import Scheduler
from datacenter.core.uai import validate_uai
from protos import agent_pb2, common_pb2, console_pb2, console_pb2_grpc

STATUS_OF = {
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    errors.Exhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    errors.Forbidden: grpc.StatusCode.PERMISSION_DENIED,
    errors.WrongState: grpc.StatusCode.FAILED_PRECONDITION,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
}
Method = TypeVar("Method", bound=Callable[..., Awaitable[Any]])


def translated(method: Method) -> Method:
    @functools.wraps(method)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            return await method(self, request, context)
        except errors.DatacenterError as error:
            await context.abort(STATUS_OF.get(type(error), grpc.StatusCode.UNKNOWN), str(error))
        except grpc.aio.AioRpcError as error:  # from the school's agent
            if error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                await context.abort(
                    grpc.StatusCode.UNAVAILABLE,
                    "the school's server is not answering; the controller restarts it within "
                    "seconds, retry then",
                )
            await context.abort(error.code(), error.details() or "")

    return wrapper  # type: ignore[return-value]


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
    )


class ConsoleService(
    OrderingRpcs,
    BackupsConsole,
    PronoteNetConsole,
    BaseFilesConsole,
    YearConsole,
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

    def _principal(self, context: grpc.aio.ServicerContext) -> Principal:
        metadata = dict(context.invocation_metadata() or ())
        token = str(metadata.get("authorization", "")).removeprefix("Bearer ").strip()
        return self._auth.principal(token)

    def _authorized_uai(self, context: grpc.aio.ServicerContext, uai: str) -> str:
        """The UAI a per-school call acts on (the caller's own if none is given), once the
        caller may act on it."""
        principal = self._principal(context)
        uai = uai or principal.uai or ""
        if not uai:
            raise errors.InvalidArgument("say which school: give its UAI")
        uai = validate_uai(uai)
        require_school(principal, uai)
        return uai

    def _school(self, context: grpc.aio.ServicerContext, uai: str) -> SchoolRecord:
        """The school a per-school call acts on, once the caller may act on it."""
        return self._fleet.registry.get(self._authorized_uai(context, uai))

    async def _forward(
        self, context: grpc.aio.ServicerContext, uai: str, method: str, request: Any
    ) -> Any:
        return await self._agents.call(self._school(context, uai), method, request)

    # -- login and fleet -------------------------------------------------------------------

    @translated
    async def Login(
        self, request: console_pb2.LoginRequest, context: grpc.aio.ServicerContext
    ) -> console_pb2.LoginReply:
        login = self._auth.login(request.hosting_number, request.password, request.invoice_number)
        return console_pb2.LoginReply(
            token=login.token, uai=login.uai, expires_at_seconds=login.expires_at_seconds
        )

    @translated
    async def ProvisionSchool(
        self, request: console_pb2.ProvisionSchoolRequest, context: grpc.aio.ServicerContext
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
        self, request: console_pb2.ListSchoolsRequest, context: grpc.aio.ServicerContext
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
        self, request: console_pb2.SchoolRef, context: grpc.aio.ServicerContext
    ) -> console_pb2.School:
        record = self._school(context, request.uai)
        school = school_message(record, self._fleet, self._client_port)
        await self._add_publication(record, school)
        return school

    @translated
    async def DeprovisionSchool(
        self, request: console_pb2.SchoolRef, context: grpc.aio.ServicerContext
    ) -> console_pb2.DeprovisionReply:
        require_operator(self._principal(context), "deprovision schools")
        await self._fleet.deprovision(request.uai)
        self._auth.forget_school(validate_uai(request.uai))
        self._forget_year_cycle(validate_uai(request.uai))
        return console_pb2.DeprovisionReply()

    # -- one school's Serveur PRONOTE panel ------------------------------------------------

    @translated
    async def ListBases(
        self, request: console_pb2.SchoolRef, context: grpc.aio.ServicerContext
    ) -> common_pb2.Bases:
        return await self._forward(context, request.uai, "ListBases", agent_pb2.Empty())

    @translated
    async def CreateBase(
        self, request: console_pb2.CreateBaseRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.Base:
        forwarded = agent_pb2.CreateBaseRequest(
            school_year=request.school_year, synthetic_seed=request.synthetic_seed
        )
        if request.HasField("synthetic_resources"):
            forwarded.synthetic_resources.CopyFrom(request.synthetic_resources)
        return await self._forward(context, request.uai, "CreateBase", forwarded)

    @translated
    async def PutBaseInService(
        self, request: console_pb2.PutBaseInServiceRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.Base:
        forwarded = agent_pb2.PutInServiceRequest(
            base_id=request.base_id, spr_login=request.spr_login, spr_password=request.spr_password
        )
        return await self._forward(context, request.uai, "PutInService", forwarded)

    @translated
    async def StopServer(
        self, request: console_pb2.SchoolRef, context: grpc.aio.ServicerContext
    ) -> common_pb2.Bases:
        return await self._forward(context, request.uai, "StopServer", agent_pb2.Empty())

    @translated
    async def GetLicences(
        self, request: console_pb2.SchoolRef, context: grpc.aio.ServicerContext
    ) -> common_pb2.LicenceUsage:
        return await self._forward(context, request.uai, "GetLicences", agent_pb2.Empty())

    @translated
    async def SetReservedLicences(
        self, request: console_pb2.SetReservedLicencesRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.LicenceUsage:
        forwarded = agent_pb2.SetReservedLicencesRequest(count=request.count)
        return await self._forward(context, request.uai, "SetReservedLicences", forwarded)

    @translated
    async def ListConnections(
        self, request: console_pb2.SchoolRef, context: grpc.aio.ServicerContext
    ) -> common_pb2.Connections:
        return await self._forward(context, request.uai, "ListConnections", agent_pb2.Empty())

    @translated
    async def DisconnectClient(
        self, request: console_pb2.DisconnectClientRequest, context: grpc.aio.ServicerContext
    ) -> console_pb2.DisconnectReply:
        forwarded = agent_pb2.DisconnectRequest(session_id=request.session_id)
        await self._forward(context, request.uai, "Disconnect", forwarded)
        return console_pb2.DisconnectReply()

    @translated
    async def ListSuspendedIps(
        self, request: console_pb2.SchoolRef, context: grpc.aio.ServicerContext
    ) -> common_pb2.SuspendedIps:
        return await self._forward(context, request.uai, "ListSuspendedIps", agent_pb2.Empty())

    @translated
    async def UnblockIps(
        self, request: console_pb2.UnblockIpsRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.UnblockReply:
        record = self._school(context, request.uai)  # who asks comes before what is asked
        if not request.all and not request.ip:
            raise errors.InvalidArgument("say which IP to unblock, or ask to unblock them all")
        forwarded = agent_pb2.UnblockRequest(ip=request.ip, all=request.all)
        return await self._agents.call(record, "UnblockIps", forwarded)

    @translated
    async def IssuePassword(
        self, request: console_pb2.IssuePasswordRequest, context: grpc.aio.ServicerContext
    ) -> console_pb2.IssuedPassword:
        credential = agent_pb2.Credential(login=request.login, password=request.password)
        forwarded = agent_pb2.IssuePasswordsRequest(credentials=[credential])
        reply = await self._forward(context, request.uai, "IssuePasswords", forwarded)
        user = reply.users[0]
        return console_pb2.IssuedPassword(
            login=user.login, display_name=user.display_name, kind=user.kind, group=user.group
        )

    # -- load testing ----------------------------------------------------------------------

    @translated
    async def EnsureSampleAccounts(
        self, request: console_pb2.EnsureSampleAccountsRequest, context: grpc.aio.ServicerContext
    ) -> console_pb2.School:
        require_operator(self._principal(context), "create sample accounts")
        record = self._fleet.registry.get(validate_uai(request.uai))
        record = await self._sample_accounts.ensure(record.uai, request.role, request.count)
        return school_message(record, self._fleet, self._client_port)

    # -- the Clock, Sauvegardes and Mes archives (datacenter.adapters.console.mes_archives) --

    GetClock = translated(BackupsConsole._get_clock)
    AdvanceClock = translated(BackupsConsole._advance_clock)
    ListBackups = translated(BackupsConsole._list_backups)
    OpenBackup = translated(BackupsConsole._open_backup)
    DownloadArchive = translated(BackupsConsole._download_archive)

    # -- PRONOTE.net and Clients panels (datacenter.adapters.console.pronote_net) --

    GetPublication = translated(PronoteNetConsole._get_publication)
    SetPublished = translated(PronoteNetConsole._set_published)
    SetPagePublished = translated(PronoteNetConsole._set_page_published)
    SetDelegation = translated(PronoteNetConsole._set_delegation)
    RemoveDelegation = translated(PronoteNetConsole._remove_delegation)
    ExportIdentifiers = translated(PronoteNetConsole._export_identifiers)
    ListEnts = translated(PronoteNetConsole._list_ents)
    GetClientParameters = translated(PronoteNetConsole._get_client_parameters)

    # -- files from the school, Autres bases, Historique (datacenter.adapters.console.serveur) --

    UploadBaseFile = translated(BaseFilesConsole._upload_base_file)
    OpenBase = translated(BaseFilesConsole._open_base)
    GetHistory = translated(BaseFilesConsole._get_history)

    # -- the yearly cycle (datacenter.adapters.console.year) --

    GetVersionChange = translated(YearConsole._get_version_change)
    ListVersionChanges = translated(YearConsole._list_version_changes)
    RequestPreversion = translated(YearConsole._request_preversion)
    DeferSwitch = translated(YearConsole._defer_switch)
    RecoverLastYear = translated(YearConsole._recover_last_year)
