"""An embedded data-center for tests: `pronote-dc up` in a subprocess, on a private loopback
pool and state directory (see leftovers.py), with a simulated clock that moves only when asked.

It is driven only through the data-center's public surfaces: the `pronote-dc` CLI (`up`,
`down`), the file `controller.json` the controller writes, and the console gRPC API
(`protos/console.proto`) with the operator token `up` writes to `<state dir>/operator.token`.
"""

from __future__ import annotations

import datetime
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.json_format import MessageToDict

from pronote_dc_testing import leftovers
from pronote_dc_testing.dates import Moment, to_datetime
from pronote_dc_testing.school import School
from protos import console_pb2, console_pb2_grpc

START_TIMEOUT_SECONDS = 60.0
SCHOOL_READY_TIMEOUT_SECONDS = 60.0
CALL_TIMEOUT_SECONDS = 60.0
# The default school's UAI, also the seed of its synthetic school: chosen so that its sample
# parent has several children (PAYET Naël and Adam). With another UAI the sample parent is the
# school's first with a child, who may have only one.
DEFAULT_UAI = "0750001U"
FORMULAS = {
    "30": console_pb2.FORMULA_30,
    "50": console_pb2.FORMULA_50,
    "80": console_pb2.FORMULA_80,
    "unlimited": console_pb2.FORMULA_UNLIMITED,
}


class DatacenterError(RuntimeError):
    """The embedded data-center could not start, or refused a call (the message says why)."""


class Console:
    """The console API as the operator: `console.GetSchool(request)`; errors are grpc.RpcError."""

    def __init__(self, address: str, token: str) -> None:
        self.channel = grpc.insecure_channel(address)
        self._stub = console_pb2_grpc.ConsoleStub(self.channel)
        self._metadata = (("authorization", f"Bearer {token}"),)

    def __getattr__(self, method: str) -> Any:
        rpc = getattr(self._stub, method)

        def call(request: Any) -> Any:
            return rpc(request, metadata=self._metadata, timeout=CALL_TIMEOUT_SECONDS)

        return call

    def close(self) -> None:
        self.channel.close()


def to_dict(message: Any) -> dict[str, Any]:
    return MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


class EmbeddedDatacenter:
    """A running data-center of this test process. Start it with :meth:`start`, stop it with
    :meth:`stop` (or use it as a context manager); a killed test process's are reaped by the
    next :meth:`start` (leftovers.reap)."""

    def __init__(
        self, claim: leftovers.Claim, process: subprocess.Popen[bytes], settings: dict[str, str]
    ) -> None:
        self.claim = claim
        self.process = process
        self.settings = settings
        info = json.loads((claim.state_dir / "controller.json").read_text())
        self.console_address: str = info["console_address"]
        self.http_address: str = info["http_address"]
        token = (claim.state_dir / "operator.token").read_text().strip()
        self.console = Console(self.console_address, token)
        self.schools: dict[str, School] = {}

    # -- lifecycle ---------------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        when: Moment | None = None,
        block: str = leftovers.DEFAULT_BLOCK,
        root: Path | None = None,
        **settings: str,
    ) -> EmbeddedDatacenter:
        """Reap dead test processes' data-centers, claim a pool of `block`, run `pronote-dc up`
        with a simulated clock at `when` (a date is 00:00 UTC; None: now) that moves only on
        :meth:`advance_clock`. `settings` are more `PRONOTE_DC_*` settings, e.g.
        ``maxretry="3"``. Raises DatacenterError (with the controller's log) if it cannot start."""
        root = root or leftovers.root_dir()
        leftovers.reap(root)
        return cls.launch(leftovers.claim(block, root), when, **settings)

    @classmethod
    def launch(
        cls, claim: leftovers.Claim, when: Moment | None = None, **settings: str
    ) -> EmbeddedDatacenter:
        """`pronote-dc up` on an already claimed pool and directory (see :meth:`start`); the
        claim is released if it cannot start."""
        start_at = to_datetime(when) if when is not None else datetime.datetime.now(datetime.UTC)
        all_settings = {
            "clock": "simulated",
            "clock_start": start_at.strftime("%Y-%m-%dT%H:%M:%S"),
            "clock_speed": "0",
            **settings,
        }
        env = {
            **os.environ,
            **{f"PRONOTE_DC_{k.upper()}": str(v) for k, v in all_settings.items()},
            "PRONOTE_DC_STATE_DIR": str(claim.state_dir),
            "PRONOTE_DC_ADDRESS_POOL": claim.pool,
            "PRONOTE_DC_CONSOLE_ADDRESS": "127.0.0.1:0",
            "PRONOTE_DC_HTTP_ADDRESS": "127.0.0.1:0",
            "PRONOTE_DC_RUNTIME": "local://",
        }
        log_path = claim.directory / "controller.log"
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "datacenter.cli", "up"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # Ctrl-C in pytest reaches pytest, which tears down
            )
        try:
            _wait_for_controller(claim, process, log_path)
            return cls(claim, process, all_settings)
        except BaseException:
            process.kill()
            process.wait()
            leftovers.down(claim.state_dir)
            claim.release()
            raise

    def stop(self) -> None:
        """Stop the controller and every school server, then delete the state directory."""
        self.console.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        leftovers.down(self.claim.state_dir)
        self.claim.release()

    def __enter__(self) -> EmbeddedDatacenter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def state_dir(self) -> Path:
        return self.claim.state_dir

    @property
    def pool(self) -> str:
        return self.claim.pool

    def log(self) -> str:
        """The last lines the controller wrote (for error messages)."""
        path = self.claim.directory / "controller.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    # -- schools -----------------------------------------------------------------------------

    def add_school(
        self, uai: str = DEFAULT_UAI, name: str = "", formula: str = "unlimited"
    ) -> School:
        """Provision a demo school: a base in service holding the synthetic school seeded by
        `uai` (the same UAI always gives the same school), and sample accounts per role.
        Returns when its Client PRONOTE port and PRONOTE.net answer."""
        if formula not in FORMULAS:
            raise ValueError(f"formula {formula!r}: choose one of {', '.join(FORMULAS)}")
        request = console_pb2.ProvisionSchoolRequest(
            uai=uai,
            name=name or f"Établissement {uai}",
            formula=FORMULAS[formula],
            responsable=console_pb2.Responsable(
                name="Responsable hébergement", mobile="0612345678", email="ce@example.net"
            ),
            demo=True,
        )
        try:
            self.console.ProvisionSchool(request)
        except grpc.RpcError as error:
            raise DatacenterError(f"school {uai}: {error.details()}") from None
        school = School(self, self._ready_school(uai))
        self.schools[school.uai] = school
        return school

    def _ready_school(self, uai: str) -> dict[str, Any]:
        deadline = time.monotonic() + SCHOOL_READY_TIMEOUT_SECONDS
        while True:
            details = to_dict(self.console.GetSchool(console_pb2.SchoolRef(uai=uai)))
            if details["state"] == "running" and details["pronote_net"] == "published":
                return details
            if time.monotonic() > deadline:
                raise DatacenterError(f"school {uai} not ready: {details['state']}\n{self.log()}")
            time.sleep(0.02)

    def remove_school(self, uai: str) -> None:
        """Deprovision a school: its server stops, its address is free again."""
        self.schools.pop(uai, None)
        self.console.DeprovisionSchool(console_pb2.SchoolRef(uai=uai))

    # -- the clock ---------------------------------------------------------------------------

    def now(self) -> datetime.datetime:
        """The data-center's simulated time (UTC)."""
        reply = self.console.GetClock(console_pb2.ClockRequest())
        return datetime.datetime.fromtimestamp(reply.now_seconds, datetime.UTC)

    def advance_clock(self, when: Moment | datetime.timedelta) -> datetime.datetime:
        """Move the simulated clock forward to `when` (or by a timedelta), for every school:
        the backups due meanwhile are made. The clock never goes back: an earlier moment
        raises DatacenterError."""
        target = self.now() + when if isinstance(when, datetime.timedelta) else to_datetime(when)
        try:
            reply = self.console.AdvanceClock(
                console_pb2.AdvanceClockRequest(to_seconds=target.timestamp())
            )
        except grpc.RpcError as error:
            raise DatacenterError(f"advance the clock to {target}: {error.details()}") from None
        return datetime.datetime.fromtimestamp(reply.now_seconds, datetime.UTC)


def _wait_for_controller(
    claim: leftovers.Claim, process: subprocess.Popen[bytes], log_path: Path
) -> None:
    controller_file = claim.state_dir / "controller.json"
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DatacenterError(
                f"`pronote-dc up` exited ({process.returncode}):\n{_tail(log_path)}"
            )
        try:
            info = json.loads(controller_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            time.sleep(0.02)
            continue
        if info.get("pid") == process.pid and (claim.state_dir / "operator.token").exists():
            return
        time.sleep(0.02)
    raise DatacenterError(
        f"`pronote-dc up` not ready in {START_TIMEOUT_SECONDS} s:\n{_tail(log_path)}"
    )


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:] if path.exists() else ""
