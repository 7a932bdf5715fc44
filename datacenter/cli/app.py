"""The root command, `up`, `down` and `settings`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

import datacenter.cli.pronote_net  # noqa: F401  (adds `console pronote-net` and `console clients`)
from common.files import read_json
from common.processes import start_ticks
from datacenter import settings as settings_module
from datacenter.cli import (  # noqa: F401
    backups,
    clean,
    client,
    clock,
    console,
    load,
    orders,
    panels,
    schools,
    year,
)
from datacenter.cli.base_files import hnot_app  # and `console load-base`…
from datacenter.cli.output import console as out
from datacenter.cli.output import emit, errors, fail
from datacenter.cli.remote import CliState, cli_state, to_dict
from datacenter.console_service import school_message
from datacenter.controller import Controller
from datacenter.errors import DatacenterError
from datacenter.fleet import Provisioned
from provisioning.runtime import SchoolSpec, open_runtime

app = typer.Typer(
    name="pronote-dc",
    help="A simulated PRONOTE hosting data-center: one server per school, each on its own address.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(schools.app, name="school")
app.add_typer(console.app, name="console")
app.add_typer(client.app, name="client")
app.add_typer(clock.app, name="clock")  # the Clock; `console backups` etc. in cli/backups.py
app.command("load")(load.load)
app.command()(clean.clean)
app.add_typer(orders.app, name="order")
app.add_typer(year.app, name="year")  # the yearly cycle (datacenter/cli/year.py)
app.add_typer(hnot_app, name="hnot")
panels.file_under_panels()  # after every module registered its console commands

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
SCHOOL_COLUMNS = ["uai", "name", "address", "port", "state"]


@app.callback()
def root(
    ctx: typer.Context,
    state_dir: Annotated[
        Path | None,
        typer.Option(help="State directory (env PRONOTE_DC_STATE_DIR).", show_default=False),
    ] = None,
) -> None:
    ctx.obj = CliState(str(state_dir) if state_dir else None)


def school_row(provisioned: Provisioned, controller: Controller) -> dict[str, object]:
    record = provisioned.record
    return {
        "uai": record.uai,
        "name": record.name,
        "address": record.address,
        "port": controller.settings.client_port,
        "state": controller.fleet.status(record.uai).value,
        "hosting_number": record.hosting_number,
    }


@app.command()
def up(
    ctx: typer.Context,
    demo: Annotated[int, typer.Option(help="Provision this many demo schools.", min=0)] = 0,
    console_address: Annotated[
        str | None, typer.Option(help="Console API address (env PRONOTE_DC_CONSOLE_ADDRESS).")
    ] = None,
    runtime: Annotated[
        str | None, typer.Option(help="Runtime URL, e.g. local:// (env PRONOTE_DC_RUNTIME).")
    ] = None,
    address_pool: Annotated[
        str | None, typer.Option(help="Pool of school addresses (env PRONOTE_DC_ADDRESS_POOL).")
    ] = None,
    as_json: JsonOption = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens.")] = False,
) -> None:
    """Run the controller in the foreground (Ctrl-C stops it; school servers keep running)."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    settings = cli_state(ctx).settings(
        console_address=console_address, runtime=runtime, address_pool=address_pool
    )
    try:
        asyncio.run(_run_controller(Controller(settings), demo, as_json))
    except DatacenterError as error:
        fail(str(error))


async def _run_controller(controller: Controller, demo: int, as_json: bool) -> None:
    await controller.start()
    try:
        adopted = controller.fleet.reconcile_actions["adopted"]
        say = errors.print if as_json else out.print
        say(
            f"controller on [bold]{controller.console_address}[/], state in "
            f"{controller.settings.state_dir}, runtime {controller.settings.runtime}; "
            f"{len(controller.registry.all())} schools ({adopted} adopted)"
        )
        if demo:
            await _provision_demo(controller, demo, as_json)
        scheme = "https" if controller.settings.http_tls_certificate else "http"
        say(
            "ready. Try `pronote-dc school list` or open the web console at "
            f"{scheme}://{controller.http_address}/console/; Ctrl-C stops the controller, "
            "`pronote-dc down` stops it and every school server."
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
    finally:
        await controller.stop()


async def _provision_demo(controller: Controller, count: int, as_json: bool) -> None:
    rows: list[dict[str, object]] = []
    failures: list[str] = []
    progress = Progress(
        TextColumn("provisioning demo schools"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors if as_json else out,
        transient=as_json,
    )
    with progress:
        task = progress.add_task("demo", total=count)

        def done(result: Provisioned | DatacenterError) -> None:
            if isinstance(result, Provisioned):
                rows.append(school_row(result, controller))
            else:
                failures.append(str(result))
            progress.advance(task)

        await controller.provision_demo(count, done)
    rows.sort(key=lambda row: str(row["uai"]))
    if as_json:
        details = [
            school_message(
                controller.registry.get(str(row["uai"])),
                controller.fleet,
                controller.settings.client_port,
            )
            for row in rows
        ]
        emit([to_dict(d) for d in details], as_json=True)
    else:
        emit(rows, as_json=False, title="demo schools", columns=[*SCHOOL_COLUMNS, "hosting_number"])
        out.print("sample accounts: `pronote-dc school show <UAI> --json`")
    for failure in failures:
        errors.print(f"[red]demo school failed:[/] {failure}")


@app.command()
def down(ctx: typer.Context) -> None:
    """Stop the controller and every school server of the state directory."""
    settings = cli_state(ctx).settings()
    with contextlib.suppress(FileNotFoundError):
        pid = int(read_json(settings.controller_file)["pid"])
        if start_ticks(pid) is not None:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while start_ticks(pid) is not None and time.monotonic() < deadline:
                time.sleep(0.05)
            out.print(f"controller (pid {pid}) stopped")
    runtime = open_runtime(settings.runtime)
    school_dirs = sorted(p for p in settings.schools_dir.glob("*") if p.is_dir())

    async def stop_all() -> int:
        specs = [SchoolSpec(d.name, "", d) for d in school_dirs]
        running = [spec for spec in specs if runtime.observe(spec).running]
        await asyncio.gather(*(runtime.stop(spec) for spec in running))
        await runtime.close()
        return len(running)

    out.print(f"{asyncio.run(stop_all())} school servers stopped")


@app.command("settings")
def show_settings(as_json: JsonOption = False) -> None:
    """List every setting, its environment variable and its default."""
    rows = [
        {"variable": name, "default": default, "meaning": doc}
        for name, default, doc in settings_module.describe()
    ]
    emit(rows, as_json, title="settings (flags override variables, variables override defaults)")


def main() -> None:
    app()
