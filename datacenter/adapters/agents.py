"""The controller's side of each school's management API (gRPC adapter).

One channel per school, authenticated with the school's secret. `AgentDirectory` implements
the core's `AgentGateway` (datacenter/core/gateway.py) with plain-Python arguments and replies;
`call` is for the console service, which forwards protocol messages and passes the replies
(and refusals) through unchanged.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from common.backup_plan import Due
from common.school_grpc import SCHOOL_CHANNEL_OPTIONS
from common.secrets import new_password
from datacenter.core.demo import SYNTHETIC_ROLES, synthetic_account
from datacenter.core.errors import TimedOut, Unavailable
from datacenter.core.gateway import BackupsMade, PopulateBeforeStart, SimulatedTime, YearSwitched
from datacenter.core.registry import SampleAccount, SchoolRecord
from protos import agent_pb2, agent_pb2_grpc, common_pb2

CALL_TIMEOUT_SECONDS = 10.0
# A forgotten channel is closed once its calls in flight have ended, at the latest after the
# longest of them may last (a base upload, datacenter/adapters/console/serveur.py: 600 s).
FORGET_GRACE_SECONDS = 600.0
# Quick reconnection, no HTTP/2 BDP probe (common.school_grpc, DESIGN decision 45).
CHANNEL_OPTIONS = list(SCHOOL_CHANNEL_OPTIONS)
Reply = TypeVar("Reply")
_DEMO_USERS = {
    "administratif": ("DURAND Claire", common_pb2.USER_KIND_PERSONNEL, "Administration"),
    "enseignant": ("MARTIN Paul", common_pb2.USER_KIND_PROFESSEUR, ""),
    "vie_scolaire": ("BERNARD Lucie", common_pb2.USER_KIND_PERSONNEL, "Vie scolaire"),
}
# Who gets a sample account among the people of a demo school's synthetic school.
_DEMO_PEOPLE = ("enseignant", "vie_scolaire", "parent")


class AgentDirectory:
    def __init__(self, agent_port: int) -> None:
        self._agent_port = agent_port
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._closing: dict[asyncio.Task[None], grpc.aio.Channel] = {}

    def _channel(self, record: SchoolRecord) -> grpc.aio.Channel:
        channel = self._channels.get(record.uai)
        if channel is None:
            channel = grpc.aio.insecure_channel(
                f"{record.address}:{self._agent_port}", options=CHANNEL_OPTIONS
            )
            self._channels[record.uai] = channel
        return channel

    def stub(self, record: SchoolRecord) -> agent_pb2_grpc.AgentStub:
        return agent_pb2_grpc.AgentStub(self._channel(record))

    @staticmethod
    def metadata(record: SchoolRecord) -> tuple[tuple[str, str]]:
        return (("authorization", f"Bearer {record.agent_secret}"),)

    async def call(self, record: SchoolRecord, method: str, request: Any) -> Any:
        rpc = getattr(self.stub(record), method)
        return await rpc(request, metadata=self.metadata(record), timeout=CALL_TIMEOUT_SECONDS)

    @staticmethod
    async def _translated(reply: Awaitable[Reply]) -> Reply:
        """A refusal, or no answer, as the core's Unavailable (its message is the agent's)."""
        try:
            return await reply
        except grpc.aio.AioRpcError as error:
            raise Unavailable(error.details() or str(error.code())) from error

    async def set_clock(self, record: SchoolRecord, simulated: SimulatedTime) -> None:
        request = agent_pb2.SetClockRequest(
            now_seconds=simulated.now_seconds, speed=simulated.speed
        )
        await self._translated(self.call(record, "SetClock", request))

    async def make_backups(
        self, record: SchoolRecord, due: Sequence[Due], simulated: SimulatedTime | None
    ) -> BackupsMade:
        request = agent_pb2.MakeBackupsRequest(
            due=[agent_pb2.DueBackup(kind=d.kind.value, at_seconds=d.at_seconds) for d in due]
        )
        if simulated is not None:
            request.now_seconds, request.speed = simulated.now_seconds, simulated.speed
        reply = await self._translated(self.call(record, "MakeBackups", request))
        return BackupsMade(skipped=reply.skipped, files_written=reply.files_written)

    async def switch_year(
        self, record: SchoolRecord, school_year: str, at_seconds: float, keep_in_service: bool
    ) -> YearSwitched:
        request = agent_pb2.SwitchYearRequest(
            school_year=school_year, at_seconds=at_seconds, keep_in_service=keep_in_service
        )
        reply = await self._translated(self.call(record, "SwitchYear", request))
        return YearSwitched(outcome=reply.outcome, detail=reply.detail, base_name=reply.base.name)

    async def wait_healthy(self, record: SchoolRecord, timeout_seconds: float) -> None:
        health = health_pb2_grpc.HealthStub(self._channel(record))
        deadline = time.monotonic() + timeout_seconds
        status = "no answer"
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                reply = await health.Check(
                    health_pb2.HealthCheckRequest(), timeout=remaining, wait_for_ready=True
                )
            except grpc.aio.AioRpcError as error:
                status = error.details() or str(error.code())
                break
            if reply.status == health_pb2.HealthCheckResponse.SERVING:
                return
            status = "NOT_SERVING"
            await asyncio.sleep(0.05)
        raise TimedOut(
            f"school {record.uai} at {record.address} did not answer its health check within "
            f"{timeout_seconds:.0f} s ({status})"
        )

    async def populate_demo(
        self,
        record: SchoolRecord,
        school_year: str,
        accounts: list[SampleAccount],
        before_start: PopulateBeforeStart | None = None,
    ) -> list[SampleAccount]:
        """A base for this school year in service holding the synthetic school seeded by the
        UAI, with the sample accounts, and passwords for a teacher, a CPE, a parent and their
        child; returns every sample account. The agent's PopulateDemo call goes to
        `before_start` if given (the school not started yet, DESIGN decision 38), else to the
        school's server. Raises Unavailable (refused, or no answer) and TimedOut."""
        try:
            return await self._populate_demo(record, school_year, accounts, before_start)
        except grpc.aio.AioRpcError as error:  # e.g. a school too loaded to answer in time
            raise _unavailable(record, error) from error

    async def _populate_demo(
        self,
        record: SchoolRecord,
        school_year: str,
        accounts: list[SampleAccount],
        before_start: PopulateBeforeStart | None,
    ) -> list[SampleAccount]:
        spr = next(a for a in accounts if a.role == "spr")
        role_of = {SYNTHETIC_ROLES[role][0]: role for role in _DEMO_PEOPLE}
        passwords = {kind: new_password() for kind in role_of}
        child_password = new_password()
        request = agent_pb2.PopulateDemoRequest(
            school_year=school_year,
            synthetic_seed=record.uai,
            spr_login=spr.login,
            spr_password=spr.password,  # drawn by sample_accounts(): the cheap verifier
            users=[
                agent_pb2.AddUserRequest(
                    login=account.login,
                    password=account.password,
                    display_name=_DEMO_USERS[account.role][0],
                    kind=_DEMO_USERS[account.role][1],
                    group=_DEMO_USERS[account.role][2],
                )
                for account in accounts
                if account.role != "spr"
            ],
            passwords=passwords,
            child_password=child_password,
        )
        if before_start is not None:
            answer = await before_start(request.SerializeToString())
            reply = agent_pb2.PopulateDemoReply.FromString(answer)
        else:
            reply = await self.call(record, "PopulateDemo", request)  # one call (DESIGN 30)
        people = [
            synthetic_account(role, reply.logins[kind], passwords[kind])
            for kind, role in role_of.items()
            if kind in reply.logins
        ]
        if "eleve" in reply.logins:
            people.append(synthetic_account("eleve", reply.logins["eleve"], child_password))
        return [*accounts, *people]

    async def people(self, record: SchoolRecord, kinds: list[str], limit: int) -> agent_pb2.People:
        """The first people of each kind in the school's synthetic school."""
        return await self.call(
            record, "ListPeople", agent_pb2.ListPeopleRequest(kinds=kinds, limit=limit)
        )

    async def issue_passwords(self, record: SchoolRecord, accounts: list[SampleAccount]) -> None:
        credentials = [agent_pb2.Credential(login=a.login, password=a.password) for a in accounts]
        if credentials:
            await self.call(
                record, "IssuePasswords", agent_pb2.IssuePasswordsRequest(credentials=credentials)
            )

    async def add_sample_user(self, record: SchoolRecord, account: SampleAccount) -> None:
        display_name, kind, group = _DEMO_USERS[account.role]
        request = agent_pb2.AddUserRequest(
            login=account.login,
            password=account.password,
            display_name=f"{display_name} ({account.login})",
            kind=kind,
            group=group,
        )
        await self.call(record, "AddUser", request)

    async def forget(self, uai: str) -> None:
        """Drop the school's channel (it moved, or is started again): the next call opens a
        new one. Calls in flight on the old channel end on their own (an answer, their
        timeout, the transport's failure), and the channel is closed after them, in the
        background, within `FORGET_GRACE_SECONDS`. Closed at once, it cancelled them: a
        cancelled call raises CancelledError in its caller, and a console call then got no
        answer at all, its client waiting for its deadline (DESIGN decision 47)."""
        channel = self._channels.pop(uai, None)
        if channel is not None:
            closing = asyncio.create_task(channel.close(grace=FORGET_GRACE_SECONDS))
            self._closing[closing] = channel
            closing.add_done_callback(self._closing.pop)

    async def close(self) -> None:
        """Close every channel now, cancelling the calls in flight (the controller stops)."""
        channels = [*self._channels.values(), *self._closing.values()]
        for closing in list(self._closing):
            closing.cancel()
        self._channels.clear()
        for channel in channels:
            await channel.close(grace=None)


def _unavailable(record: SchoolRecord, error: grpc.aio.AioRpcError) -> Unavailable:
    """A school's refusal or silence as the core's error: TimedOut if it did not answer in
    time (the fleet then tries once more), Unavailable otherwise."""
    detail = error.details() or str(error.code())
    if error.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
        return TimedOut(f"school {record.uai} did not answer in time ({detail})")
    return Unavailable(f"school {record.uai}: {detail}")
