"""Reaching the running controller and the schools from the command line."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import typer
from google.protobuf.json_format import MessageToDict

from common.files import read_json, write_json_atomically
from common.processes import start_ticks
from datacenter.adapters.wire import FORMULA_TO_PROTO
from datacenter.cli.output import fail
from datacenter.core.errors import DatacenterError
from datacenter.core.settings import Settings, load_settings
from protos import console_pb2, console_pb2_grpc

CONSOLE_SESSION_FILE = "console-session.json"


@dataclass
class CliState:
    state_dir: str | None = None

    def settings(self, **overrides: Any) -> Settings:
        try:
            return load_settings(os.environ, state_dir=self.state_dir, **overrides)
        except DatacenterError as error:
            fail(str(error))


def cli_state(ctx: typer.Context) -> CliState:
    state = ctx.find_root().obj
    assert isinstance(state, CliState)
    return state


def console_address(settings: Settings) -> str:
    """The running controller recorded in the state dir, else an explicit remote address."""
    with contextlib.suppress(FileNotFoundError, ValueError, KeyError):
        info = read_json(settings.controller_file)
        if start_ticks(int(info["pid"])) is not None:
            return str(info["console_address"])
    explicit = os.environ.get("PRONOTE_DC_CONSOLE_ADDRESS", "")
    if explicit and not explicit.endswith(":0"):
        return explicit
    fail(
        f"no controller is running for {settings.state_dir}; start one with "
        "`pronote-dc up` (or give --state-dir)"
    )


def operator_token(settings: Settings) -> str:
    token = os.environ.get("PRONOTE_DC_TOKEN")
    if token:
        return token
    try:
        return settings.operator_token_path.read_text().strip()
    except FileNotFoundError:
        fail(f"no operator token in {settings.state_dir}; has `pronote-dc up` run there?")


def console_token(settings: Settings) -> str:
    """A school's console session if `console login` saved one, else the operator token."""
    token = os.environ.get("PRONOTE_DC_TOKEN")
    if token:
        return token
    try:
        return str(read_json(settings.state_dir / CONSOLE_SESSION_FILE)["token"])
    except FileNotFoundError:
        return operator_token(settings)


def save_console_session(settings: Settings, token: str, uai: str) -> None:
    write_json_atomically(
        settings.state_dir / CONSOLE_SESSION_FILE, {"token": token, "uai": uai}, mode=0o600
    )


def forget_console_session(settings: Settings) -> bool:
    path = settings.state_dir / CONSOLE_SESSION_FILE
    existed = path.exists()
    path.unlink(missing_ok=True)
    return existed


class Console:
    """A console stub whose calls carry the token and turn refusals into clear CLI errors."""

    def __init__(self, address: str, token: str) -> None:
        self._channel = grpc.insecure_channel(address)
        self._stub = console_pb2_grpc.ConsoleStub(self._channel)
        self._metadata = (("authorization", f"Bearer {token}"),)

    def __getattr__(self, method: str) -> Any:
        rpc = getattr(self._stub, method)

        def call(request: Any, timeout: float = 60.0) -> Any:
            with rpc_errors():
                return rpc(request, metadata=self._metadata, timeout=timeout)

        return call

    def close(self) -> None:
        self._channel.close()


@contextlib.contextmanager
def rpc_errors() -> Iterator[None]:
    try:
        yield
    except grpc.RpcError as error:
        code = error.code()
        if code is grpc.StatusCode.UNAVAILABLE and not error.details():
            fail("cannot reach the server; is it running? (`pronote-dc up`)")
        fail(f"{error.details()} [{code.name}]")


def open_console(ctx: typer.Context, operator: bool = False) -> Console:
    settings = cli_state(ctx).settings()
    address = console_address(settings)
    token = operator_token(settings) if operator else console_token(settings)
    return Console(address, token)


def to_dict(message: Any) -> dict[str, Any]:
    return MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def formula_value(formula: str) -> console_pb2.Formula.ValueType:
    """The protocol value of a formula given on the command line, or a clear refusal."""
    if formula not in FORMULA_TO_PROTO:
        fail(f"formula {formula!r} does not exist: choose 30, 50, 80 or unlimited")
    return FORMULA_TO_PROTO[formula]
