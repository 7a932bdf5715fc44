"""The management API (port 49301), for the controller only: every call needs the secret."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc

from common import backup_plan, secrets
from common.backup_plan import Due, Kind
from common.clock import Clock, DrivenClock
from protos import agent_pb2, agent_pb2_grpc, common_pb2
from vm_agent.adapters import convert
from vm_agent.adapters.base_files_service import BaseFilesAgent
from vm_agent.adapters.errors import translated
from vm_agent.adapters.publication_service import PronoteNetAddress, PublicationRpcs
from vm_agent.adapters.slot import SchoolSlot
from vm_agent.backups import Backup, BackupStore
from vm_agent.domain import rentree
from vm_agent.domain.errors import InvalidArgument, NotFound, WrongState
from vm_agent.domain.pronote_net import PronoteNet
from vm_agent.domain.school import SchoolServer
from vm_agent.domain.school_data import PersonKind
from vm_agent.isolated import release_free_memory

AGENT_METHOD_PREFIX = "/pronote.agent.v1.Agent/"


class SecretInterceptor(grpc.aio.ServerInterceptor):
    """Refuses every Agent call that does not carry the school's secret."""

    def __init__(self, secret_hash: str) -> None:
        self._secret_hash = secret_hash

        async def deny(request: Any, context: grpc.aio.ServicerContext) -> None:
            await context.abort(
                grpc.StatusCode.UNAUTHENTICATED,
                "the management API needs this school's agent secret; it is for the "
                "controller only",
            )

        self._deny = grpc.unary_unary_rpc_method_handler(deny)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        if handler_call_details.method.startswith(AGENT_METHOD_PREFIX):
            metadata = dict(handler_call_details.invocation_metadata or ())
            token = str(metadata.get("authorization", "")).removeprefix("Bearer ")
            if not token or not secrets.verify(token, self._secret_hash):
                return self._deny
        return await continuation(handler_call_details)


class AgentService(PublicationRpcs, BaseFilesAgent, agent_pb2_grpc.AgentServicer):
    @classmethod
    def unbound(cls) -> AgentService:
        """A servicer whose method table can be built before its school is known (the warm
        parent's, `vm_agent.server.prepare_services`); `bind` it before it serves."""
        return cls.__new__(cls)

    def bind(
        self,
        slot: SchoolSlot,
        started_at_seconds: float,
        backups: BackupStore,
        clock: Clock,
        data_dir: Path,
        pronote_net: PronoteNetAddress | None = None,
    ) -> None:
        """Attach the servicer to its school (what the constructor takes)."""
        self._data_dir = data_dir  # files sent by the school land here (base_files_service)
        self._pronote_net = pronote_net or PronoteNetAddress("127.0.0.1", 8080)
        self._slot = slot
        self._started_at_seconds = started_at_seconds
        self._backups = backups
        self._clock = clock
        self._backup_lock = asyncio.Lock()

    __init__ = bind  # made bound, or unbound and bound later: the same attributes

    def _bases(self) -> common_pb2.Bases:
        """Every base, each with all its counters (the ones left to count are counted now)."""
        if self._slot.school.count_pending():
            release_free_memory()
        in_service = self._slot.school.base_in_service
        return common_pb2.Bases(
            server_state=convert.STATE_TO_PROTO[self._slot.school.server_state],
            bases=[
                convert.base(b, in_service is not None and b.id == in_service.id)
                for b in self._slot.school.bases
            ],
        )

    @translated
    async def GetStatus(
        self, request: agent_pb2.Empty, context: grpc.aio.ServicerContext
    ) -> agent_pb2.AgentStatus:
        base = self._slot.school.base_in_service
        return agent_pb2.AgentStatus(
            uai=self._slot.school.identity.uai,
            school_name=self._slot.school.identity.name,
            pid=os.getpid(),
            server_state=convert.STATE_TO_PROTO[self._slot.school.server_state],
            base=base.name if base else "",
            started_at_seconds=self._started_at_seconds,
        )

    @translated
    async def ListBases(
        self, request: agent_pb2.Empty, context: grpc.aio.ServicerContext
    ) -> common_pb2.Bases:
        return self._bases()

    @translated
    async def CreateBase(
        self, request: agent_pb2.CreateBaseRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.Base:
        resources = (
            convert.resources(request.synthetic_resources)
            if request.HasField("synthetic_resources")
            else None
        )
        base = self._slot.school.create_base(
            request.school_year,
            request.synthetic_seed,
            resources,
            request.sample_records,
            request.count_later,
        )
        return convert.base(base, in_service=False)

    @translated
    async def PutInService(
        self, request: agent_pb2.PutInServiceRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.Base:
        base = self._slot.school.put_in_service(
            request.base_id,
            request.spr_login,
            request.spr_password,
            request.spr_password_generated,
        )
        return convert.base(base, in_service=True)

    @translated
    async def StopServer(
        self, request: agent_pb2.Empty, context: grpc.aio.ServicerContext
    ) -> common_pb2.Bases:
        self._slot.school.stop()
        return self._bases()

    @translated
    async def AddUser(
        self, request: agent_pb2.AddUserRequest, context: grpc.aio.ServicerContext
    ) -> agent_pb2.AddUserReply:
        kind = convert.USER_KIND_FROM_PROTO.get(request.kind)
        if kind is None:
            raise InvalidArgument(
                "say whether the user is a personnel, a professeur, an élève or a responsable"
            )
        user = self._slot.school.add_user(
            request.login, request.password, request.display_name, kind, request.group
        )
        return agent_pb2.AddUserReply(login=user.login)

    @translated
    async def IssuePasswords(
        self, request: agent_pb2.IssuePasswordsRequest, context: grpc.aio.ServicerContext
    ) -> agent_pb2.IssuePasswordsReply:
        credentials = [(c.login, c.password) for c in request.credentials]
        users = self._slot.school.issue_passwords(credentials)
        return agent_pb2.IssuePasswordsReply(users=[convert.issued_user(u) for u in users])

    @translated
    async def ListPeople(
        self, request: agent_pb2.ListPeopleRequest, context: grpc.aio.ServicerContext
    ) -> agent_pb2.People:
        kinds = [_person_kind(name) for name in request.kinds]
        found = self._slot.school.people(kinds, request.limit)
        return agent_pb2.People(
            people=[convert.person(p, found.child_logins) for p in found.people],
            totals={kind.value: total for kind, total in found.totals.items()},
        )

    @translated
    async def PopulateDemo(
        self, request: agent_pb2.PopulateDemoRequest, context: grpc.aio.ServicerContext
    ) -> agent_pb2.PopulateDemoReply:
        reply = populate_demo(self._slot.school, request)
        release_free_memory()  # the population's passing allocations (DESIGN decision 30)
        return reply

    @translated
    async def GetLicences(
        self, request: agent_pb2.Empty, context: grpc.aio.ServicerContext
    ) -> common_pb2.LicenceUsage:
        return convert.licence_usage(self._slot.school.licences())

    @translated
    async def SetReservedLicences(
        self, request: agent_pb2.SetReservedLicencesRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.LicenceUsage:
        return convert.licence_usage(self._slot.school.reserve_licences(request.count))

    @translated
    async def ListConnections(
        self, request: agent_pb2.Empty, context: grpc.aio.ServicerContext
    ) -> common_pb2.Connections:
        school = self._slot.school
        web = PronoteNet(school, self._clock).connections()  # PRONOTE.net, then its users
        return common_pb2.Connections(
            connections=[convert.connection(s) for s in school.connections()]
            + [convert.web_connection(c) for c in web]
        )

    @translated
    async def Disconnect(
        self, request: agent_pb2.DisconnectRequest, context: grpc.aio.ServicerContext
    ) -> agent_pb2.Empty:
        self._slot.school.disconnect(request.session_id)
        return agent_pb2.Empty()

    @translated
    async def ListSuspendedIps(
        self, request: agent_pb2.Empty, context: grpc.aio.ServicerContext
    ) -> common_pb2.SuspendedIps:
        return common_pb2.SuspendedIps(
            suspended_ips=[convert.suspended_ip(s) for s in self._slot.school.suspended_ips()]
        )

    @translated
    async def UnblockIps(
        self, request: agent_pb2.UnblockRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.UnblockReply:
        if request.all:
            count = self._slot.school.unblock_all()
        else:
            count = self._slot.school.unblock(request.ip)
        return common_pb2.UnblockReply(unblocked=count)

    @translated
    async def SetClock(
        self, request: agent_pb2.SetClockRequest, context: grpc.aio.ServicerContext
    ) -> agent_pb2.Empty:
        if not isinstance(self._clock, DrivenClock):
            raise WrongState("this school runs on a clock of its own; it cannot be driven")
        try:
            self._clock.drive(request.now_seconds, request.speed)
        except ValueError as error:
            raise InvalidArgument(str(error)) from None
        self._slot.school.expire_idle()
        return agent_pb2.Empty()

    @translated
    async def MakeBackups(
        self, request: agent_pb2.MakeBackupsRequest, context: grpc.aio.ServicerContext
    ) -> agent_pb2.MakeBackupsReply:
        try:
            due = [Due(Kind(d.kind), d.at_seconds) for d in request.due]
        except ValueError:
            raise InvalidArgument("a due backup has an unknown kind") from None
        if request.now_seconds:
            await self.SetClock(
                agent_pb2.SetClockRequest(now_seconds=request.now_seconds, speed=request.speed),
                context,
            )
        school = self._slot.school
        base = school.base_in_service
        if base is None:
            return agent_pb2.MakeBackupsReply(skipped="no base in service")
        if not due:
            return agent_pb2.MakeBackupsReply()
        async with self._backup_lock:
            made = await asyncio.to_thread(
                self._backups.make, due, base.school_year, school.snapshot()
            )
        return agent_pb2.MakeBackupsReply(
            due=made.due,
            written=made.written,
            deleted=made.deleted,
            files_written=made.files_written,
        )

    @translated
    async def ListBackups(
        self, request: agent_pb2.Empty, context: grpc.aio.ServicerContext
    ) -> common_pb2.Backups:
        listed = await asyncio.to_thread(self._backups.listing)
        return common_pb2.Backups(backups=[_backup_info(b) for b in listed])

    @translated
    async def OpenBackup(
        self, request: agent_pb2.BackupRef, context: grpc.aio.ServicerContext
    ) -> common_pb2.Bases:
        if self._slot.school.base_in_service is not None:
            raise WrongState(
                "stop the server before you open a backup or an archive (Arrêter le serveur)"
            )
        async with self._backup_lock:
            state = await asyncio.to_thread(self._backups.load_state, request.name)
        self._slot.school.restore(state)
        return self._bases()

    @translated
    async def ResumeFromBackup(
        self, request: agent_pb2.ResumeRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.Bases:
        info, data = request.backup.info, request.backup.data
        try:
            kind = Kind(info.kind)
        except ValueError:
            raise InvalidArgument(f"backup kind {info.kind!r} is unknown") from None
        async with self._backup_lock:
            state = await asyncio.to_thread(
                self._backups.adopt,
                Backup(info.name, kind, info.made_at_seconds, info.size, info.sha256),
                data,
            )
        self._slot.school.resume_from(state, request.detail or f"sauvegarde {info.name}")
        return self._bases()

    @translated
    async def ReadBackup(
        self, request: agent_pb2.BackupRef, context: grpc.aio.ServicerContext
    ) -> common_pb2.BackupContent:
        async with self._backup_lock:
            backup, data = await asyncio.to_thread(self._backups.read_verified, request.name)
        return common_pb2.BackupContent(info=_backup_info(backup), data=data)

    @translated
    async def SwitchYear(
        self, request: agent_pb2.SwitchYearRequest, context: grpc.aio.ServicerContext
    ) -> agent_pb2.SwitchYearReply:
        school = self._slot.school
        switch = school.start_new_year(
            request.school_year, request.at_seconds, request.keep_in_service
        )
        reply = agent_pb2.SwitchYearReply(outcome=switch.outcome, detail=switch.detail)
        if switch.base is not None:
            reply.base.CopyFrom(convert.base(switch.base, in_service=True))
        return reply

    @translated
    async def RecoverLastYear(
        self, request: agent_pb2.RecoverLastYearRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.Recovery:
        school = self._slot.school
        base = school.base_in_service
        if base is None:
            raise WrongState(
                "put the new year's base in service first: last year's data goes into it"
            )
        kinds = rentree.parse_kinds(list(request.kinds))
        last_year = rentree.previous_school_year(base.school_year)
        name = backup_plan.name_for(Kind.YEAR_END, last_year, 0)
        if not any(b.name == name for b in self._backups.listing()):
            raise NotFound(
                f"no July archive of {last_year} ({name!r}): it is made on 5 July while that "
                "year's base is in service; nothing was changed"
            )
        async with self._backup_lock:
            state = await asyncio.to_thread(self._backups.load_state, name)
        recovered = school.recover_last_year(state, kinds)
        return common_pb2.Recovery(
            archive=name,
            base=base.name,
            kinds=[
                common_pb2.RecoveredKind(
                    kind=r.kind, label=rentree.LABELS[r.kind], records=r.records
                )
                for r in recovered
            ],
        )


def _backup_info(backup: Backup) -> common_pb2.BackupInfo:
    return common_pb2.BackupInfo(
        name=backup.name,
        kind=backup.kind.value,
        made_at_seconds=backup.made_at_seconds,
        size=backup.size,
        sha256=backup.sha256,
    )


def populate_demo(
    school: SchoolServer, request: agent_pb2.PopulateDemoRequest
) -> agent_pb2.PopulateDemoReply:
    """The PopulateDemo call on `school` (`SchoolServer.populate_demo`): served by a school,
    or run before its start (`vm_agent.demo_population`). Raises the domain's refusals
    (InvalidArgument for a user kind or person kind that does not exist)."""
    users = []
    for user in request.users:
        kind = convert.USER_KIND_FROM_PROTO.get(user.kind)
        if kind is None:
            raise InvalidArgument(f"say what kind of user {user.login!r} is")
        users.append((user.login, user.password, user.display_name, kind, user.group))
    passwords = {_person_kind(name): password for name, password in request.passwords.items()}
    base, logins = school.populate_demo(
        request.school_year,
        request.synthetic_seed,
        (request.spr_login, request.spr_password),
        users,
        passwords,
        request.child_password,
    )
    return agent_pb2.PopulateDemoReply(base=convert.base(base, in_service=True), logins=logins)


def _person_kind(name: str) -> PersonKind:
    try:
        return PersonKind(name)
    except ValueError:
        raise InvalidArgument(
            f"kind {name!r} does not exist: choose " + ", ".join(k.value for k in PersonKind)
        ) from None
