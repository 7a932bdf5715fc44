"""`pronote-dc clock show|advance`: the data-center's clock (real, or simulated)."""

from __future__ import annotations

from typing import Annotated

import typer

from datacenter.cli.console import JsonOption, _when
from datacenter.cli.output import emit_object, fail
from datacenter.cli.remote import open_console, to_dict
from datacenter.errors import InvalidArgument
from datacenter.scheduler import parse_date
from protos import console_pb2

app = typer.Typer(help="The data-center's clock: show it; advance a simulated one.")


def _emit(reply: console_pb2.ClockReply, as_json: bool, title: str, advanced: bool) -> None:
    if as_json:
        emit_object(to_dict(reply), as_json=True)
        return
    view: dict[str, object] = {
        "now (UTC)": _when(reply.now_seconds),
        "clock": f"simulated, speed {reply.speed:g}" if reply.simulated else "real",
    }
    if advanced:
        view["schools"] = reply.schools
        view["backups made (.sauvs)"] = reply.backups_due
        view["archives made (.archs)"] = reply.archives_due
        view["files written (the others were already pruned)"] = reply.files_written
    emit_object(view, as_json=False, title=title)


@app.command()
def show(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Show the data-center's time."""
    _emit(open_console(ctx).GetClock(console_pb2.ClockRequest()), as_json, "clock", False)


@app.command()
def advance(
    ctx: typer.Context,
    to: Annotated[str, typer.Argument(help="e.g. 2027-07-06 or 2027-07-06T12:00 (UTC)")],
    as_json: JsonOption = False,
) -> None:
    """Advance a simulated clock (operator): the backups and archives due are made in order."""
    try:
        request = console_pb2.AdvanceClockRequest(to_seconds=parse_date(to))
    except InvalidArgument as error:
        fail(str(error))
    reply = open_console(ctx, operator=True).AdvanceClock(request)
    _emit(reply, as_json, "clock advanced", True)
