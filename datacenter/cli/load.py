"""`pronote-dc load`: many simulated Client PRONOTE users across the fleet, then a report."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live

from datacenter.cli.output import console, errors, fail
from datacenter.cli.remote import cli_state, console_address, operator_token
from loadtest.engine import LoadRun
from loadtest.errors import LoadError
from loadtest.fleet import FleetConsole, prepare_accounts
from loadtest.plan import parse_mix
from loadtest.report import (
    build_report,
    describe_users,
    print_report,
    progress_line,
    write_series_csv,
)
from loadtest.scenarios import SCENARIOS, build_plan
from loadtest.targets import check_safe, select
from loadtest.users import cast

SCENARIO_HELP = "; ".join(f"{s.name}: {s.summary}" for s in SCENARIOS.values())
DEFAULT_SOURCE_POOL = "127.91.0.0/16"


def _env(name: str) -> str:
    return f"PRONOTE_DC_LOAD_{name}"


def load(
    ctx: typer.Context,
    scenario: Annotated[
        str, typer.Option(help=f"What to simulate. {SCENARIO_HELP}", envvar=_env("SCENARIO"))
    ] = "steady",
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many seconds.", envvar=_env("DURATION"))
    ] = None,
    sessions: Annotated[
        int | None,
        typer.Option(help="Stop after this many session attempts.", envvar=_env("SESSIONS")),
    ] = None,
    users: Annotated[
        int, typer.Option(help="Simulated clients at once.", envvar=_env("USERS"))
    ] = 10,
    schools: Annotated[
        str, typer.Option(help="'all' or UAIs separated by commas.", envvar=_env("SCHOOLS"))
    ] = "all",
    sample: Annotated[
        int | None,
        typer.Option(help="A random sample of this many of those schools.", envvar=_env("SAMPLE")),
    ] = None,
    mix: Annotated[
        str | None,
        typer.Option(
            help="Modes and weights, e.g. administratif=1,enseignant=6,vie_scolaire=2,edt=1.",
            envvar=_env("MIX"),
        ),
    ] = None,
    ramp_up: Annotated[
        float | None, typer.Option(help="Seconds to start every user.", envvar=_env("RAMP_UP"))
    ] = None,
    think_time: Annotated[
        float | None,
        typer.Option(help="Mean seconds between a user's actions.", envvar=_env("THINK_TIME")),
    ] = None,
    session_length: Annotated[
        float | None,
        typer.Option(help="Seconds each session stays open.", envvar=_env("SESSION_LENGTH")),
    ] = None,
    attackers: Annotated[
        int | None,
        typer.Option(help="Source IPs sending wrong passwords.", envvar=_env("ATTACKERS")),
    ] = None,
    attempts_per_attacker: Annotated[
        int | None,
        typer.Option(help="Wrong-password attempts of each attacker.", envvar=_env("ATTEMPTS")),
    ] = None,
    source_pool: Annotated[
        str,
        typer.Option(
            help="Loopback addresses for the simulated clients.", envvar=_env("SOURCE_POOL")
        ),
    ] = DEFAULT_SOURCE_POOL,
    seed: Annotated[int, typer.Option(help="Seed of the random choices.", envvar=_env("SEED"))] = 0,
    csv_path: Annotated[
        Path | None, typer.Option("--csv", help="Write a time series (one row a second) here.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Simulate many Client PRONOTE (and, --scenario evening or mobile, PRONOTE.net) users
    across the fleet; bounded by --duration and/or
    --sessions; prints live progress, then a report."""
    settings = cli_state(ctx).settings()
    try:
        plan = build_plan(
            scenario,
            users=users,
            duration_seconds=duration,
            sessions=sessions,
            ramp_up_seconds=ramp_up,
            think_time_seconds=think_time,
            session_length_seconds=session_length,
            mix=parse_mix(mix) if mix is not None else None,
            attackers=attackers,
            attempts_per_attacker=attempts_per_attacker,
            seed=seed,
        )
        fleet = FleetConsole(console_address(settings), operator_token(settings))
        try:
            wanted = [] if schools.strip().lower() == "all" else schools.split(",")
            targets = select(fleet.schools(), wanted, sample, seed)
            for target in targets:
                check_safe(target, settings.address_pool)
            targets = prepare_accounts(fleet, plan, targets)
            port = settings.school_pronote_net_port  # web users' espaces
            targets = [dataclasses.replace(t, web_port=port) for t in targets]
        finally:
            fleet.close()
        on_loopback = all(t.address.startswith("127.") for t in targets)
        simulated = cast(plan, targets, source_pool if on_loopback else None)
    except LoadError as error:
        fail(str(error))
    if not on_loopback:
        errors.print(
            "[yellow]note:[/] schools are not on loopback: clients share this host's address"
        )
    out = errors if as_json else console
    out.print(
        f"{plan.scenario}: {describe_users(simulated)}; stops after "
        f"{plan.deadline_seconds:.0f} s or {plan.session_budget} sessions"
    )
    run = LoadRun(plan, simulated)
    asyncio.run(_run_with_progress(run, out))
    report = build_report(run)
    if csv_path is not None:
        write_series_csv(csv_path, run.series)
    if as_json:
        json.dump(report, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print_report(report, console)


async def _run_with_progress(run: LoadRun, out: Console) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, run.interrupt)
    task = asyncio.create_task(run.run())
    with Live(progress_line(run), console=out, refresh_per_second=4, transient=True) as live:
        while not task.done():
            await asyncio.wait({task}, timeout=0.25)
            live.update(progress_line(run))
    await task
