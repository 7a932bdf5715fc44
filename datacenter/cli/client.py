"""`pronote-dc client …`: act as a Client PRONOTE against a school's port 49300."""

from __future__ import annotations

import re
import signal
import threading
import time
from typing import Annotated

import grpc
import typer

from datacenter.adapters.wire import MODE_TO_PROTO
from datacenter.cli.output import console, emit_object, fail
from datacenter.cli.remote import cli_state, open_console, rpc_errors, to_dict
from protos import client_pb2, client_pb2_grpc, console_pb2

app = typer.Typer(help="Act as a Client PRONOTE: connect to a school's server on port 49300.")

_UAI_LIKE = re.compile(r"^\d{7}[A-Za-z]$")
TargetArgument = Annotated[
    str, typer.Argument(help="The school's UAI, or its address (ADDRESS or ADDRESS:PORT).")
]


def _target(ctx: typer.Context, target: str) -> str:
    port = cli_state(ctx).settings().client_port
    if _UAI_LIKE.match(target):
        school = open_console(ctx).GetSchool(console_pb2.SchoolRef(uai=target))
        return f"{school.address}:{school.client_port}"
    return target if ":" in target else f"{target}:{port}"


@app.command()
def connect(
    ctx: typer.Context,
    target: TargetArgument,
    login: Annotated[str, typer.Option(help="The user's login.")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, help="Password.")],
    mode: Annotated[str, typer.Option(help="administratif, enseignant, vie_scolaire or edt.")] = (
        "administratif"
    ),
    poste: Annotated[str, typer.Option(help="Workstation name shown to the console.")] = "",
    hold: Annotated[
        float | None,
        typer.Option(help="Stay connected this many seconds (default: until Ctrl-C)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Open a session, keep it alive with heartbeats, disconnect at the end."""
    if mode not in MODE_TO_PROTO:
        fail(f"mode {mode!r} does not exist: choose {', '.join(MODE_TO_PROTO)}")
    address = _target(ctx, target)
    stub = client_pb2_grpc.ClientPronoteStub(grpc.insecure_channel(address))
    with rpc_errors():
        reply = stub.Connect(
            client_pb2.ConnectRequest(
                mode=MODE_TO_PROTO[mode], login=login, password=password, poste=poste
            ),
            timeout=15,
        )
    emit_object({"server": address, **to_dict(reply)}, as_json, title="connected")
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    deadline = None if hold is None else time.monotonic() + hold
    interval = max(reply.idle_timeout_seconds / 3, 0.5)
    if not as_json and hold != 0:
        console.print("[dim]connected; Ctrl-C to disconnect[/]")
    while not stop.is_set():
        remaining = interval if deadline is None else min(interval, deadline - time.monotonic())
        if remaining <= 0 or stop.wait(remaining):
            break
        with rpc_errors():
            stub.Heartbeat(client_pb2.SessionRef(session_id=reply.session_id), timeout=15)
    try:
        stub.Disconnect(client_pb2.SessionRef(session_id=reply.session_id), timeout=15)
    except grpc.RpcError as error:
        fail(f"the session had already ended: {error.details()}")
    if not as_json:
        console.print("disconnected")


@app.command()
def info(
    ctx: typer.Context,
    target: TargetArgument,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """What the connection dialog shows: school, base in service and licence counts."""
    address = _target(ctx, target)
    stub = client_pb2_grpc.ClientPronoteStub(grpc.insecure_channel(address))
    with rpc_errors():
        reply = stub.GetServerInfo(client_pb2.ServerInfoRequest(), timeout=15)
    details = to_dict(reply)
    if not as_json:
        licences = details.pop("licences")
        details.update(licences)
    emit_object(details, as_json, title=address)
