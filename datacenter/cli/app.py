"""The root command, `up`, `down` and `settings`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from common.files import read_json
from common.processes import start_ticks
from datacenter.adapters.console.schools import school_message
from datacenter.cli import (
    clean,
    client,
    clock,
    console,
    lab,
    load,
    nodes,
    orders,
    schools,
    year,
)
from datacenter.cli.hnot import hnot_app
from datacenter.cli.options import JsonOption
from datacenter.cli.output import console as out
from datacenter.cli.output import emit, errors, fail
from datacenter.cli.remote import CliState, cli_state, to_dict
from datacenter.controller import Controller
from datacenter.core import ipam
from datacenter.core import settings as settings_module
from datacenter.core.errors import DatacenterError
from datacenter.core.fleet import Provisioned
from datacenter.core.registry import SchoolRecord
from provisioning.factory import open_runtime
from provisioning.runtime import SchoolSpec

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
app.add_typer(nodes.app, name="nodes")  # swarm:// hosts
app.add_typer(lab.app, name="lab")  # a Swarm of Docker-in-Docker nodes on this machine

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


def school_row(record: SchoolRecord, controller: Controller) -> dict[str, object]:
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
        room = ipam.capacity(settings.address_pool)
        if demo > room:  # refused before anything starts
            fail(
                f"--demo {demo} is more schools than the address pool {settings.address_pool} "
                f"holds ({room}): ask for at most {room}, or give a larger pool "
                "(--address-pool or PRONOTE_DC_ADDRESS_POOL)"
            )
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
    """Make sure the first `count` demo schools exist, then show them."""
    registry = controller.registry
    wanted = controller.first_demo_orders(count)
    orders = [order for order in wanted if not registry.exists(order.uai)]
    failures: list[str] = []
    progress = Progress(
        TextColumn("provisioning demo schools"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors if as_json else out,
        transient=as_json,
    )
    with progress if orders else contextlib.nullcontext():
        task = progress.add_task("demo", total=len(orders))

        def done(result: Provisioned | DatacenterError) -> None:
            if not isinstance(result, Provisioned):
                failures.append(str(result))
            progress.advance(task)

        await controller.provision_demo(orders, done)
    records = sorted(
        (registry.get(o.uai) for o in wanted if registry.exists(o.uai)), key=lambda r: r.uai
    )
    if as_json:
        details = [
            school_message(record, controller.fleet, controller.settings.client_port)
            for record in records
        ]
        emit([to_dict(d) for d in details], as_json=True)
    else:
        rows = [school_row(record, controller) for record in records]
        emit(rows, as_json=False, title="demo schools", columns=[*SCHOOL_COLUMNS, "hosting_number"])
        already = len(records) - (len(orders) - len(failures))
        if already:
            out.print(f"{already} of them were already provisioned (`up --demo N` ensures N)")
        out.print("sample accounts: `pronote-dc school show <UAI> --json`")
    for failure in failures:
        errors.print(f"[red]demo school failed:[/] {failure}")


@app.command()
def down(
    ctx: typer.Context,
    purge: Annotated[
        bool,
        typer.Option(
            "--purge",
            help="Then delete the state directory (registry, schools' data, backups, tokens): "
            "the next `up` starts from a clean state.",
        ),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Stop the controller and every school server of the state directory."""
    settings = cli_state(ctx).settings()
    if purge:
        _check_purgeable(settings.state_dir)
        if not yes:
            typer.confirm(
                f"stop everything and delete {settings.state_dir} (every school's data and "
                "backups)?",
                abort=True,
            )
    with contextlib.suppress(FileNotFoundError):
        pid = int(read_json(settings.controller_file)["pid"])
        if start_ticks(pid) is not None:
            os.kill(pid, signal.SIGTERM)
            if not _gone_within(pid, 10):  # alive, it would restart the schools stopped below
                os.kill(pid, signal.SIGKILL)  # (crash-safe: its next start finishes any intent)
                _gone_within(pid, 5)
                out.print(f"controller (pid {pid}) did not stop within 10 s: killed")
            else:
                out.print(f"controller (pid {pid}) stopped")
    runtime = open_runtime(settings.runtime)
    school_dirs = sorted(p for p in settings.schools_dir.glob("*") if p.is_dir())

    async def stop_all() -> int:
        specs = [SchoolSpec(d.name, "", d) for d in school_dirs]
        running = [spec for spec in specs if (await runtime.observe(spec)).running]
        await asyncio.gather(*(runtime.stop(spec) for spec in running))
        await runtime.close()
        return len(running)

    out.print(f"{asyncio.run(stop_all())} school servers stopped")
    if purge:
        shutil.rmtree(settings.state_dir, ignore_errors=True)
        out.print(f"{settings.state_dir} deleted: the next `pronote-dc up` starts afresh")
        if settings.runtime.startswith(("docker:", "ssh:")):
            out.print("the schools' containers and volumes: `pronote-dc clean --purge-backups`")


def _gone_within(pid: int, seconds: float) -> bool:
    """Wait up to `seconds` for process `pid` to end; True if it did."""
    deadline = time.monotonic() + seconds
    while start_ticks(pid) is not None:
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


# What a pronote-dc state directory may hold; --purge refuses a directory holding anything else.
STATE_ENTRIES = {
    "registry.sqlite3", "registry.sqlite3-wal", "registry.sqlite3-shm", "schools", "backups",
    "operator.token", "controller.json", "controller.lock", "clock.json", "year_cycle.json",
    "year_cycle.journal", "runtime.json", "console-session.json",
}  # fmt: skip


def _check_purgeable(state_dir: Path) -> None:
    if not state_dir.exists():
        fail(f"{state_dir} does not exist: the state is clean already")
    others = sorted(p.name for p in state_dir.iterdir() if p.name not in STATE_ENTRIES)
    if others:
        fail(
            f"{state_dir} holds files pronote-dc did not make ({', '.join(others[:5])}): "
            "is it the right --state-dir? Nothing was deleted"
        )


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
