"""Run the simulated users on one event loop, each with its own gRPC connection.

Each user's channel has its own subchannel pool (otherwise channels to one target share one
TCP connection) and, when the school is on loopback, goes through its own source-address
relay. The run stops at the deadline or when the session budget is spent, whichever comes
first; sessions still open then are disconnected cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import resource
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import grpc

from loadtest import mobile_app
from loadtest.plan import WEB_MODES, LoadPlan
from loadtest.relay import Relay
from loadtest.stats import Recorder
from loadtest.users import VirtualUser
from loadtest.web_client import WebClient, WebError
from protos import client_pb2, client_pb2_grpc, common_pb2

RPC_TIMEOUT_SECONDS = 15.0
SAMPLE_INTERVAL_SECONDS = 1.0
MODE_TO_PROTO = {
    "administratif": common_pb2.MODE_ADMINISTRATIF,
    "enseignant": common_pb2.MODE_ENSEIGNANT,
    "vie_scolaire": common_pb2.MODE_VIE_SCOLAIRE,
    "edt": common_pb2.MODE_EDT,
}


@dataclass(frozen=True)
class Outcome:
    code: str
    details: str
    reply: Any


class LoadRun:
    def __init__(
        self,
        plan: LoadPlan,
        users: list[VirtualUser],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.plan = plan
        self.users = users
        self.recorder = Recorder()
        self.series: list[dict[str, float]] = []
        self.stopped_by = "completed"
        self.running = 0
        self._clock = clock
        self._random = random.Random(plan.seed)
        self._stop = asyncio.Event()
        self._budget = plan.session_budget
        self._started = 0.0
        self.elapsed_seconds = 0.0
        self._legit = sum(1 for u in users if not u.attacker) or 1
        for user in users:
            self.recorder.schools[user.target.uai].users += 0 if user.attacker else 1

    def elapsed(self) -> float:
        return self._clock() - self._started if self._started else 0.0

    async def run(self) -> None:
        _raise_open_files_limit(4 * len(self.users) + 256)
        self._started = self._clock()
        sampler = asyncio.create_task(self._sample_forever())
        deadline = asyncio.get_running_loop().call_later(self.plan.deadline_seconds, self._expire)
        try:
            await asyncio.gather(*(self._run_user(u) for u in self.users))
        finally:
            deadline.cancel()
            self._stop.set()
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
            self.elapsed_seconds = self.elapsed()
            self._sample()

    def interrupt(self) -> None:
        """Ctrl-C: stop now, disconnecting the open sessions."""
        self.stopped_by = "interrupted"
        self._stop.set()

    def _expire(self) -> None:
        if self.stopped_by == "completed":
            self.stopped_by = "duration"
        self._stop.set()

    # -- one simulated user ----------------------------------------------------------------

    async def _run_user(self, user: VirtualUser) -> None:
        if user.mode in WEB_MODES:
            self.running += 1
            try:
                if self.plan.scenario == "mobile":
                    await self._app(user)
                else:
                    await self._browse(user)
            finally:
                self.running -= 1
            return
        relay = None
        if user.source_ip is not None:
            relay = Relay(user.source_ip, user.target.address, user.target.port)
            address = await relay.start()
        else:
            address = user.target.endpoint
        channel = grpc.aio.insecure_channel(
            address, options=[("grpc.use_local_subchannel_pool", 1)]
        )
        stub = client_pb2_grpc.ClientPronoteStub(channel)
        self.running += 1
        try:
            if user.attacker:
                await self._attack(stub, user)
            else:
                await self._work(stub, user)
        finally:
            self.running -= 1
            await channel.close(grace=None)
            if relay is not None:
                await relay.close()

    async def _work(self, stub: client_pb2_grpc.ClientPronoteStub, user: VirtualUser) -> None:
        if not await self._pause(self.plan.ramp_up_seconds * user.number / self._legit):
            return
        while not self._stop.is_set() and self._take_session():
            info = client_pb2.ServerInfoRequest()
            await self._call(user, "get_server_info", stub.GetServerInfo, info)
            session_id = await self._connect(stub, user)
            if session_id:
                await self._hold(stub, user, session_id)
            if not await self._pause(self._think()):
                return

    async def _attack(self, stub: client_pb2_grpc.ClientPronoteStub, user: VirtualUser) -> None:
        for _ in range(self.plan.attempts_per_attacker):
            if self._stop.is_set():
                return
            session_id = await self._connect(stub, user)
            if session_id:  # the attacker guessed right: leave at once
                await self._disconnect(stub, user, session_id)
            if not await self._pause(self._think()):
                return

    async def _connect(self, stub: client_pb2_grpc.ClientPronoteStub, user: VirtualUser) -> str:
        request = client_pb2.ConnectRequest(
            mode=MODE_TO_PROTO[user.mode],
            login=user.account.login,
            password=user.password,
            poste=f"load-{user.number:05d}",
        )
        outcome = await self._call(user, "connect", stub.Connect, request)
        self.recorder.connect(
            user.target.uai, outcome.code, outcome.details, user.source_ip or "", user.attacker
        )
        return str(outcome.reply.session_id) if outcome.code == "OK" else ""

    async def _hold(
        self, stub: client_pb2_grpc.ClientPronoteStub, user: VirtualUser, session_id: str
    ) -> None:
        end_at = self._clock() + self.plan.session_length_seconds
        ref = client_pb2.SessionRef(session_id=session_id)
        while (remaining := end_at - self._clock()) > 0:
            if not await self._pause(min(self._think(), remaining)):
                break
            if self._clock() >= end_at:
                break
            outcome = await self._call(user, "heartbeat", stub.Heartbeat, ref)
            if outcome.code == "NOT_FOUND":  # expired or disconnected by the console
                self.recorder.active -= 1
                return
        await self._disconnect(stub, user, session_id)

    async def _disconnect(
        self, stub: client_pb2_grpc.ClientPronoteStub, user: VirtualUser, session_id: str
    ) -> None:
        ref = client_pb2.SessionRef(session_id=session_id)
        await self._call(user, "disconnect", stub.Disconnect, ref)
        self.recorder.active -= 1

    # -- a PRONOTE.net user (students and parents) ----------------------------------------

    async def _app(self, user: VirtualUser) -> None:
        """The mobile scenario: what a pawnote-based app does at 7 pm, session after session
        with the device's token (loadtest.mobile_app)."""
        local = (user.source_ip, 0) if user.source_ip else None
        connector = aiohttp.TCPConnector(local_addr=local, force_close=False)
        timeout = aiohttp.ClientTimeout(total=RPC_TIMEOUT_SECONDS)
        device = mobile_app.Device(f"pronote-dc-load-{user.number}")

        async def step(operation: str, call: Awaitable[Any]) -> bool:
            return (await self._web(user, operation, call)).code == "OK"

        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            if not await self._pause(self.plan.ramp_up_seconds * user.number / self._legit):
                return
            while not self._stop.is_set() and self._take_session():
                url = mobile_app.mobile_url(user.target.espace_url(user.mode))
                client = WebClient(http, url)
                await step("app_instance", mobile_app.instance(client))
                log_in = mobile_app.log_in(client, device, user.account.login, user.password)
                if await self._web_login(client, user, log_in, "app_login"):
                    await mobile_app.evening(client, step)
                    self.recorder.active -= 1
                if not await self._pause(self._think()):
                    return

    async def _browse(self, user: VirtualUser) -> None:
        """Log in to the espace, read this week's timetable and the grades, re-read the grades
        every think time for the session length, then leave (web sessions just expire)."""
        local = (user.source_ip, 0) if user.source_ip else None
        connector = aiohttp.TCPConnector(local_addr=local, force_close=False)
        timeout = aiohttp.ClientTimeout(total=RPC_TIMEOUT_SECONDS)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            if not await self._pause(self.plan.ramp_up_seconds * user.number / self._legit):
                return
            while not self._stop.is_set() and self._take_session():
                client = WebClient(http, user.target.espace_url(user.mode))
                if await self._web_login(client, user):
                    end_at = self._clock() + self.plan.session_length_seconds
                    week = client.current_week()
                    await self._web(user, "web_timetable", client.timetable(week))
                    await self._web(user, "web_grades", client.grades())
                    while self._clock() < end_at and await self._pause(self._think()):
                        await self._web(user, "web_grades", client.grades())
                    self.recorder.active -= 1
                if not await self._pause(self._think()):
                    return

    async def _web_login(
        self,
        client: WebClient,
        user: VirtualUser,
        log_in: Awaitable[bool] | None = None,
        operation: str = "web_login",
    ) -> bool:
        async def with_password() -> bool:
            await client.open()
            return await client.login(user.account.login, user.password)

        outcome = await self._web(user, operation, log_in or with_password())
        self.recorder.connect(
            user.target.uai,
            outcome.code,
            outcome.details,
            user.source_ip or "",
            user.attacker,
            operation=operation,
        )
        return outcome.code == "OK"

    async def _web(self, user: VirtualUser, operation: str, step: Awaitable[Any]) -> Outcome:
        start = time.perf_counter()
        try:
            reply = await step
        except WebError as error:
            codes = {"SUSPENDED": "PERMISSION_DENIED", "UNAVAILABLE": "FAILED_PRECONDITION"}
            outcome = Outcome(codes.get(error.code, error.code), str(error), None)
        except (aiohttp.ClientError, TimeoutError) as error:
            outcome = Outcome("UNAVAILABLE", str(error) or type(error).__name__, None)
        else:
            outcome = Outcome("OK", "", reply)
        login = operation in ("web_login", "app_login")
        if login and outcome.code == "OK" and not outcome.reply:
            outcome = Outcome("UNAUTHENTICATED", "Identifiant ou mot de passe incorrect", None)
        self.recorder.rpc(
            user.target.uai, operation, time.perf_counter() - start, outcome.code, outcome.details
        )
        return outcome

    async def _call(self, user: VirtualUser, operation: str, rpc: Any, request: Any) -> Outcome:
        start = time.perf_counter()
        try:
            reply = await rpc(request, timeout=RPC_TIMEOUT_SECONDS)
        except grpc.aio.AioRpcError as error:
            outcome = Outcome(error.code().name, error.details() or "", None)
        else:
            outcome = Outcome("OK", "", reply)
        self.recorder.rpc(
            user.target.uai, operation, time.perf_counter() - start, outcome.code, outcome.details
        )
        return outcome

    # -- pacing ----------------------------------------------------------------------------

    def _take_session(self) -> bool:
        if self._budget <= 0:
            if not self._stop.is_set() and self.stopped_by == "completed":
                self.stopped_by = "sessions"
            return False
        self._budget -= 1
        return True

    def _think(self) -> float:
        """Think time with ±50 % jitter, so users do not move in lockstep."""
        return self.plan.think_time_seconds * self._random.uniform(0.5, 1.5)

    async def _pause(self, seconds: float) -> bool:
        """Wait `seconds`; False if the run was stopped meanwhile."""
        if self._stop.is_set():
            return False
        if seconds <= 0:
            await asyncio.sleep(0)
            return not self._stop.is_set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)
        return not self._stop.is_set()

    # -- time series -----------------------------------------------------------------------

    async def _sample_forever(self) -> None:
        while True:
            await asyncio.sleep(SAMPLE_INTERVAL_SECONDS)
            self._sample()

    def _sample(self) -> None:
        r = self.recorder
        previous = self.series[-1] if self.series else {"elapsed_seconds": 0.0, "rpcs": 0}
        elapsed = self.elapsed()
        span = elapsed - previous["elapsed_seconds"]
        self.series.append(
            {
                "elapsed_seconds": round(elapsed, 3),
                "users_running": self.running,
                "sessions_active": r.active,
                "sessions_opened": r.opened,
                "sessions_refused": r.refused,
                "rpcs": r.rpcs,
                "rpcs_per_second": round((r.rpcs - previous["rpcs"]) / span, 1) if span > 0 else 0,
                "errors": r.error_count,
            }
        )


def _raise_open_files_limit(needed: int) -> None:
    """Each user holds a listener and two sockets: lift the soft limit toward the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, target), hard))
