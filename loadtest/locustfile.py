"""Client PRONOTE users for Locust: `locust -f loadtest/locustfile.py --headless -u 20 -r 5
--run-time 1m` against the running data-center.

The fleet comes from the controller (its state directory's controller.json and operator
token, or PRONOTE_DC_CONSOLE_ADDRESS and PRONOTE_DC_TOKEN), never from --host; the same
safety rule as `pronote-dc load` applies. Each Locust user is one Client PRONOTE with its own
connection and, on loopback, its own source address. Every request is reported to Locust as
`grpc <operation>`; refusals are failures named by status code and reason.

Environment: PRONOTE_DC_LOAD_SCHOOLS (all, or UAIs separated by commas), PRONOTE_DC_LOAD_MIX
(administratif=1,enseignant=6,vie_scolaire=2,edt=1), PRONOTE_DC_LOAD_SOURCE_POOL
(127.91.0.0/16). A run without --run-time is refused: every load run is bounded.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import grpc
import grpc.experimental.gevent as grpc_gevent
from locust import User, between, events, task
from locust.env import Environment

from common.relay import SourceAddressRelay
from loadtest.engine import MODE_TO_PROTO
from loadtest.fleet import FleetConsole, prepare_accounts
from loadtest.plan import DEFAULT_MIX, MAX_USERS, LoadPlan, parse_mix
from loadtest.stats import reason_of
from loadtest.targets import Target, check_safe, select
from loadtest.users import VirtualUser, cast
from protos import client_pb2, client_pb2_grpc

grpc_gevent.init_gevent()  # gRPC must yield to gevent, or one user blocks them all

RPC_TIMEOUT_SECONDS = 15.0
_fleet: list[VirtualUser] = []
_next_user = itertools.count()
_lock = threading.Lock()


def _console_endpoint() -> tuple[str, str]:
    state_dir = Path(
        os.environ.get("PRONOTE_DC_STATE_DIR")
        or Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local/state") / "pronote-dc"
    ).expanduser()
    address = os.environ.get("PRONOTE_DC_CONSOLE_ADDRESS", "")
    controller = state_dir / "controller.json"
    if controller.exists():
        address = json.loads(controller.read_text())["console_address"]
    token = os.environ.get("PRONOTE_DC_TOKEN", "")
    if not token and (state_dir / "operator.token").exists():
        token = (state_dir / "operator.token").read_text().strip()
    if not address or address.endswith(":0") or not token:
        raise SystemExit(
            f"no running controller found for {state_dir}: start one with `pronote-dc up`, or "
            "set PRONOTE_DC_STATE_DIR (or PRONOTE_DC_CONSOLE_ADDRESS and PRONOTE_DC_TOKEN)"
        )
    return address, token


@events.init.add_listener
def _resolve_fleet(environment: Environment, **_: Any) -> None:
    options = environment.parsed_options
    if options is None or not options.run_time:
        raise SystemExit("an unbounded run is refused: give Locust --run-time (e.g. 1m)")
    if options.num_users and options.num_users > MAX_USERS:
        raise SystemExit(f"-u must be at most {MAX_USERS} simulated clients")
    users = options.num_users or 1
    mix = os.environ.get("PRONOTE_DC_LOAD_MIX")
    plan = LoadPlan("locust", users=users, mix=parse_mix(mix) if mix else DEFAULT_MIX)
    console = FleetConsole(*_console_endpoint())
    try:
        wanted = os.environ.get("PRONOTE_DC_LOAD_SCHOOLS", "all")
        targets: list[Target] = select(
            console.schools(), [] if wanted.lower() == "all" else wanted.split(",")
        )
        pool = os.environ.get("PRONOTE_DC_ADDRESS_POOL", "127.51.0.0/16")
        for target in targets:
            check_safe(target, pool)
        targets = prepare_accounts(console, plan, targets)
    finally:
        console.close()
    on_loopback = all(t.address.startswith("127.") for t in targets)
    sources = os.environ.get("PRONOTE_DC_LOAD_SOURCE_POOL", "127.91.0.0/16")
    _fleet[:] = cast(plan, targets, sources if on_loopback else None)


class ClientPronoteUser(User):
    """One Client PRONOTE: connects, heartbeats while it works, reconnects now and then."""

    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        with _lock:
            self.profile = _fleet[next(_next_user) % len(_fleet)]
        target = self.profile.target
        self.relay = None
        address = target.endpoint
        if self.profile.source_ip is not None:
            self.relay = SourceAddressRelay(self.profile.source_ip, target.address, target.port)
            address = self.relay.address
        self.channel = grpc.insecure_channel(
            address, options=[("grpc.use_local_subchannel_pool", 1)]
        )
        self.stub = client_pb2_grpc.ClientPronoteStub(self.channel)
        self.session_id = ""

    def on_stop(self) -> None:
        if self.session_id:
            self._disconnect()
        self.channel.close()
        if self.relay is not None:
            self.relay.close()

    @task(10)
    def work(self) -> None:
        if not self.session_id:
            self._connect()
        else:
            reply = self._call("heartbeat", self.stub.Heartbeat, self._ref())
            if reply is None:
                self.session_id = ""

    @task(1)
    def reconnect(self) -> None:
        if self.session_id:
            self._disconnect()
        self._connect()

    def _connect(self) -> None:
        self._call("get_server_info", self.stub.GetServerInfo, client_pb2.ServerInfoRequest())
        request = client_pb2.ConnectRequest(
            mode=MODE_TO_PROTO[self.profile.mode],
            login=self.profile.account.login,
            password=self.profile.password,
            poste=f"locust-{self.profile.number:05d}",
        )
        reply = self._call("connect", self.stub.Connect, request)
        self.session_id = reply.session_id if reply is not None else ""

    def _disconnect(self) -> None:
        self._call("disconnect", self.stub.Disconnect, self._ref())
        self.session_id = ""

    def _ref(self) -> client_pb2.SessionRef:
        return client_pb2.SessionRef(session_id=self.session_id)

    def _call(self, operation: str, rpc: Any, request: Any) -> Any:
        start = time.perf_counter()
        reply, exception = None, None
        try:
            reply = rpc(request, timeout=RPC_TIMEOUT_SECONDS)
        except grpc.RpcError as error:
            exception = RuntimeError(f"{error.code().name}: {reason_of(error.details() or '')}")
        self.environment.events.request.fire(
            request_type="grpc",
            name=operation,
            response_time=(time.perf_counter() - start) * 1000,
            response_length=reply.ByteSize() if reply is not None else 0,
            exception=exception,
            context={"uai": self.profile.target.uai},
        )
        return reply
