"""A real data-center for tests: `pronote-dc up` as a subprocess on a private address pool."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc

from common.relay import SourceAddressRelay
from protos import (
    agent_pb2,
    agent_pb2_grpc,
    client_pb2,
    client_pb2_grpc,
    common_pb2,
    console_pb2,
    console_pb2_grpc,
)
from tests.dates import at

PRONOTE_DC = [sys.executable, "-m", "datacenter.cli"]
START_TIMEOUT_SECONDS = 30.0


def free_pool(prefix_length: int = 27, first_octets: str = "127.62") -> str:
    """A loopback block no other test uses: <first_octets>.x.y/27, checked free on port 49300.

    Under pytest-xdist (`make test`'s second pass) each worker draws the third octet from its
    own residue class (gw0: 0, 2, 4...; gw1: 1, 3, 5...): the check is a bind that is let go
    at once, so two workers must never draw the same block between a check and a start."""
    size = 2 ** (32 - prefix_length)
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    while True:
        third = random.randrange(worker % workers, 256, workers)
        fourth = random.randrange(0, 256, size)
        probe = f"{first_octets}.{third}.{fourth + 1}"
        with socket.socket() as sock:
            try:
                sock.bind((probe, 49300))
            except OSError:
                continue
        return f"{first_octets}.{third}.{fourth}/{prefix_length}"


def uai(seven_digits: str) -> str:
    return seven_digits + "ABCDEFGHJKLMNPRSTUVWXYZ"[int(seven_digits) % 23]


class Console:
    """The console API with a token; calls raise grpc.RpcError as a client would see."""

    def __init__(self, address: str, token: str = "") -> None:
        self.channel = grpc.insecure_channel(address)
        self.stub = console_pb2_grpc.ConsoleStub(self.channel)
        self.token = token

    def __getattr__(self, method: str) -> Any:
        rpc = getattr(self.stub, method)

        def call(request: Any) -> Any:
            metadata = (("authorization", f"Bearer {self.token}"),) if self.token else ()
            return rpc(request, metadata=metadata, timeout=30)

        return call


# The log of every controller a Datacenter started, in order: tests/conftest.py shows those a
# failed test started (one made in the test's body is gone by the time its report is made).
STARTED_LOGS: list[Path] = []


def log_tail(path: Path, chars: int) -> str:
    """The last `chars` characters of a log file ("" if there is none)."""
    return path.read_text(errors="replace")[-chars:] if path.exists() else ""


class Datacenter:
    def __init__(self, state_dir: Path, pool: str, **settings: str) -> None:
        self.state_dir = state_dir
        self.pool = pool
        self.env = {
            **os.environ,
            "PRONOTE_DC_STATE_DIR": str(state_dir),
            "PRONOTE_DC_CONSOLE_ADDRESS": "127.0.0.1:0",
            "PRONOTE_DC_ADDRESS_POOL": pool,
            "PRONOTE_DC_RECONCILE_INTERVAL_SECONDS": "0.2",
            "PRONOTE_DC_HTTP_ADDRESS": "127.0.0.1:0",
            **{f"PRONOTE_DC_{k.upper()}": v for k, v in settings.items()},
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.console_address = ""
        self.http_address = ""

    # -- controller lifecycle --------------------------------------------------------------

    def start(self, *args: str) -> None:
        controller_file = self.state_dir / "controller.json"
        controller_file.unlink(missing_ok=True)
        env = {k: v for k, v in self.env.items() if k != "PRONOTE_DC_CONSOLE_ADDRESS"}
        log = open(self.log_path, "ab")  # noqa: SIM115
        if self.log_path not in STARTED_LOGS:
            STARTED_LOGS.append(self.log_path)
        self.process = subprocess.Popen(
            [*PRONOTE_DC, "up", "--console-address", "127.0.0.1:0", *args],
            env=env,
            stdout=log,
            stderr=log,
        )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"controller exited: {self.log()}")
            try:
                info = json.loads(controller_file.read_text())
            except (FileNotFoundError, json.JSONDecodeError):
                time.sleep(0.05)
                continue
            if info["pid"] == self.process.pid:
                self.console_address = info["console_address"]
                self.http_address = info["http_address"]
                self.env["PRONOTE_DC_CONSOLE_ADDRESS"] = self.console_address
                return
        raise RuntimeError(f"controller not ready in time: {self.log()}")

    def stop(self, signum: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signum)
            self.process.wait(timeout=20)
        self.process = None

    def down(self) -> None:
        self.stop()
        self.cli("down", check=False)

    @property
    def log_path(self) -> Path:
        return self.state_dir.parent / "controller.log"

    def log(self, chars: int = 3000) -> str:
        """The last `chars` characters of the controller's log ("" before it started)."""
        return log_tail(self.log_path, chars)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*PRONOTE_DC, *args], env=self.env, capture_output=True, text=True, timeout=120
        )
        if check and result.returncode != 0:
            raise AssertionError(f"pronote-dc {' '.join(args)} failed:\n{result.stderr}")
        return result

    # -- clients ---------------------------------------------------------------------------

    @property
    def operator_token(self) -> str:
        return (self.state_dir / "operator.token").read_text().strip()

    def operator(self) -> Console:
        return Console(self.console_address, self.operator_token)

    def console(self, token: str = "") -> Console:
        return Console(self.console_address, token)

    def provision(self, seven_digits: str, demo: bool = True, **fields: Any) -> Any:
        request = console_pb2.ProvisionSchoolRequest(
            uai=uai(seven_digits),
            name=fields.pop("name", f"Collège {seven_digits}"),
            formula=fields.pop("formula", console_pb2.FORMULA_30),
            responsable=console_pb2.Responsable(
                name="Test", mobile="0612345678", email="ce@example.org"
            ),
            demo=demo,
            **fields,
        )
        return self.operator().ProvisionSchool(request)

    def agent_secret(self, school_uai: str) -> str:
        """The school's management secret, read where only the controller keeps it."""
        with sqlite3.connect(self.state_dir / "registry.sqlite3") as db:
            row = db.execute("SELECT agent_secret FROM schools WHERE uai=?", (school_uai,))
            return str(row.fetchone()[0])

    def add_user(
        self, school: Any, login: str, kind: common_pb2.UserKind.ValueType, group: str = ""
    ) -> str:
        """Add a user through the school's management API, as the controller would."""
        password = f"pw-{login}"
        with grpc.insecure_channel(f"{school.address}:49301") as channel:
            agent_pb2_grpc.AgentStub(channel).AddUser(
                agent_pb2.AddUserRequest(
                    login=login,
                    password=password,
                    display_name=login.upper(),
                    kind=kind,
                    group=group,
                ),
                metadata=(("authorization", f"Bearer {self.agent_secret(school.uai)}"),),
                timeout=10,
            )
        return password

    def school_pid(self, school_uai: str) -> int:
        """The school server's pid, or 0 while it has none (being restarted)."""
        path = self.state_dir / "schools" / school_uai / "agent.pid"
        try:
            return int(json.loads(path.read_text())["pid"])
        except (FileNotFoundError, json.JSONDecodeError):
            return 0


@contextmanager
def running_datacenter(
    tmp_path: Path, pool: str, *up_args: str, **settings: str
) -> Iterator[Datacenter]:
    """`pronote-dc up` on a fresh state dir under tmp_path; everything stopped afterwards."""
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    dc = Datacenter(state_dir, pool, **settings)
    dc.start(*up_args)
    try:
        yield dc
    finally:
        dc.down()


def advance(dc: Datacenter, when: str) -> Any:
    """Advance the data-center's simulated clock to an ISO date (UTC), as the operator."""
    return dc.operator().AdvanceClock(console_pb2.AdvanceClockRequest(to_seconds=at(when)))


def backups(dc: Datacenter, uai: str) -> list[Any]:
    return list(dc.operator().ListBackups(console_pb2.SchoolRef(uai=uai)).backups)


def account(school: Any, role: str) -> Any:
    return next(a for a in school.sample_accounts if a.role == role)


class Client:
    """A Client PRONOTE on a school's port 49300, optionally from a chosen source address."""

    def __init__(self, address: str, port: int = 49300, source_ip: str | None = None) -> None:
        self.relay = SourceAddressRelay(source_ip, address, port) if source_ip else None
        target = self.relay.address if self.relay else f"{address}:{port}"
        self.channel = grpc.insecure_channel(
            target, options=[("grpc.use_local_subchannel_pool", 1)]
        )
        self.stub = client_pb2_grpc.ClientPronoteStub(self.channel)

    def connect(
        self,
        login: str,
        password: str,
        mode: common_pb2.Mode.ValueType = common_pb2.MODE_ADMINISTRATIF,
    ) -> Any:
        request = client_pb2.ConnectRequest(mode=mode, login=login, password=password)
        return self.stub.Connect(request, timeout=15)

    def heartbeat(self, session_id: str) -> Any:
        return self.stub.Heartbeat(client_pb2.SessionRef(session_id=session_id), timeout=15)

    def disconnect(self, session_id: str) -> Any:
        return self.stub.Disconnect(client_pb2.SessionRef(session_id=session_id), timeout=15)

    def info(self) -> Any:
        return self.stub.GetServerInfo(client_pb2.ServerInfoRequest(), timeout=15)

    def close(self) -> None:
        self.channel.close()
        if self.relay:
            self.relay.close()


@contextmanager
def client(address: str, source_ip: str | None = None) -> Iterator[Client]:
    c = Client(address, source_ip=source_ip)
    try:
        yield c
    finally:
        c.close()


def rpc_error(call: Any, *args: Any) -> grpc.RpcError:
    """Run a call that must fail; return its error."""
    try:
        call(*args)
    except grpc.RpcError as error:
        return error
    raise AssertionError("the call succeeded but should have been refused")


def wait_for(predicate: Any, timeout: float = 15.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")
