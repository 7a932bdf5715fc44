"""`pronote-dc clock show|advance`: the data-center's clock (real, or simulated)."""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from datacenter.cli.options import JsonOption, when
from datacenter.cli.output import emit, emit_object, errors, fail
from datacenter.cli.remote import open_console, to_dict
from datacenter.core.errors import InvalidArgument
from datacenter.core.scheduler import parse_date
from protos import console_pb2

app = typer.Typer(help="The data-center's clock: show it; advance a simulated one.")


def _emit(reply: console_pb2.ClockReply, as_json: bool, title: str, advanced: bool) -> None:
    if as_json:
        emit_object(to_dict(reply), as_json=True)
        return
    view: dict[str, object] = {
        "now (UTC)": when(reply.now_seconds),
        "clock": f"simulated, speed {reply.speed:g}" if reply.simulated else "real",
    }
    if advanced:
        view["schools"] = reply.schools
        view["backups made (.sauvs)"] = reply.backups_due
        view["archives made (.archs)"] = reply.archives_due
        view["files written (not the pruned or unchanged ones)"] = reply.files_written
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


def run_school_year(
    advance_clock: Callable[[console_pb2.AdvanceClockRequest], console_pb2.ClockReply],
    first_day: datetime.date,
    step_days: int = 1,
    on_step: Callable[[datetime.date, console_pb2.ClockReply], None] | None = None,
) -> dict[str, int]:
    """Advance the clock from `first_day` (1 September, or a later day) to the next 31 August,
    `step_days` at a time; returns the totals of what the scheduler made."""
    last_day = datetime.date(first_day.year + (first_day.month >= 9), 8, 31)
    totals = {"steps": 0, "backups": 0, "archives": 0, "files_written": 0}
    day = first_day
    while day < last_day:
        day = min(day + datetime.timedelta(days=step_days), last_day)
        moment = datetime.datetime.combine(day, datetime.time(23, 59), tzinfo=datetime.UTC)
        reply = advance_clock(console_pb2.AdvanceClockRequest(to_seconds=moment.timestamp()))
        totals["steps"] += 1
        totals["backups"] += reply.backups_due
        totals["archives"] += reply.archives_due
        totals["files_written"] += reply.files_written
        if on_step is not None:
            on_step(day, reply)
    return totals


@app.command("school-year")
def school_year(
    ctx: typer.Context,
    start: Annotated[
        str, typer.Option(help="The day to start from (default: the clock's today).")
    ] = "",
    step_days: Annotated[int, typer.Option(help="Days advanced per step.")] = 1,
    as_json: JsonOption = False,
) -> None:
    """Run the school year up to 31 August on a simulated clock (operator), then report the
    backups and archives made, each school's July archive, pre-version and August switch."""
    stub = open_console(ctx, operator=True)
    now = stub.GetClock(console_pb2.ClockRequest())
    if not now.simulated:
        fail("the clock is real: start the controller with PRONOTE_DC_CLOCK=simulated")
    today = datetime.datetime.fromtimestamp(now.now_seconds, tz=datetime.UTC).date()
    try:
        first = datetime.date.fromisoformat(start) if start else today
    except ValueError:
        fail(f"{start!r} is not a date: write it as 2026-09-01")
    if step_days < 1:
        fail("advance at least one day per step")
    last = datetime.date(first.year + (first.month >= 9), 8, 31)
    started = time.perf_counter()
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors,
        transient=as_json,
    )
    with progress:
        task = progress.add_task(f"{first}", total=max((last - first).days, 1))

        def step(day: datetime.date, reply: console_pb2.ClockReply) -> None:
            progress.update(task, completed=(day - first).days, description=f"{day}")

        totals = run_school_year(stub.AdvanceClock, first, step_days, step)
    wall = round(time.perf_counter() - started, 1)
    schools = year_report(stub)
    result: dict[str, object] = {**totals, "wall_seconds": wall, "schools": schools}
    if as_json:
        emit_object(result, as_json=True)
        return
    emit_object(result, as_json=False, title=f"school year from {first} to {last}")
    emit(schools, as_json=False, title="July archive, pre-version and August switch per school")


def year_report(stub: Any) -> list[dict[str, object]]:
    """Per school: its July archive, its pre-version, and what its August switch did."""
    changes = stub.ListVersionChanges(console_pb2.ListSchoolsRequest()).changes
    rows: list[dict[str, object]] = []
    for change in changes:
        backups = stub.ListBackups(console_pb2.SchoolRef(uai=change.uai)).backups
        july = next((b.name for b in backups if b.kind == "year_end"), "")
        rows.append(
            {
                "uai": change.uai,
                "july_archive": july,
                "preversion_on": change.preversion_on,
                "switch_on": change.outcome_on or change.switch_on,
                "choice": change.choice,
                "outcome": change.outcome,
                "base_in_service": change.base,
            }
        )
    return rows
