"""`pronote-dc-testing school`: one demo school for tests written in any language (a Node test
runner, a shell script). It prints the school as one JSON line on stdout, then serves it until
stdin closes or it gets SIGTERM/SIGINT, and removes everything (a killed one is reaped by the
next run, like the pytest plugin's).

    {"uai": ..., "address": ..., "port": 49300, "now": "2026-12-10T00:00:00+00:00",
     "espaces": {"eleve": {"url": ..., "mobile_url": ...}, ...},
     "accounts": {"eleve": {"login": ..., "password": ..., "espaces": [...]}, ...},
     "env": {"PRONOTE_DC_STATE_DIR": ...}}

`env` makes the `pronote-dc` CLI act on this data-center, e.g.
`PRONOTE_DC_STATE_DIR=... pronote-dc clock advance 2026-12-11`.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from typing import Annotated, Any

import typer

from pronote_dc_testing import leftovers
from pronote_dc_testing.embedded import DEFAULT_UAI, DatacenterError, EmbeddedDatacenter
from pronote_dc_testing.school import School

app = typer.Typer(
    name="pronote-dc-testing",
    help="PRONOTE schools for tests (pronote-dc): one demo school until stdin closes.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def root() -> None:
    """PRONOTE schools for tests, for any language (Python has the pytest plugin)."""


def describe(datacenter: EmbeddedDatacenter, school: School) -> dict[str, Any]:
    return {
        "uai": school.uai,
        "name": school.name,
        "address": school.address,
        "port": school.port,
        "now": school.now().isoformat(),
        "espaces": {
            page: {"url": e.url, "mobile_url": e.mobile_url, "published": e.published}
            for page, e in school.espaces.items()
        },
        "accounts": {
            role: {"login": a.login, "password": a.password, "espaces": list(a.espaces)}
            for role, a in school.accounts.items()
        },
        "env": {"PRONOTE_DC_STATE_DIR": str(datacenter.state_dir)},
    }


@app.command()
def school(
    date: Annotated[
        str | None,
        typer.Option(
            help="Simulated date, e.g. 2026-12-10 or 2026-12-10T08:00 (UTC); default now."
        ),
    ] = None,
    uai: Annotated[str, typer.Option(help="UAI, also the seed of the synthetic school.")] = (
        DEFAULT_UAI
    ),
    block: Annotated[
        str, typer.Option(help="Loopback block the address pool is cut from.")
    ] = leftovers.DEFAULT_BLOCK,
) -> None:
    """Start one demo school, print it as a JSON line, serve until stdin closes or SIGTERM."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        datacenter = EmbeddedDatacenter.start(date, block=block)
    except (DatacenterError, ValueError, RuntimeError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    try:
        print(json.dumps(describe(datacenter, datacenter.add_school(uai))), flush=True)
        threading.Thread(target=_set_at_eof, args=(stop,), daemon=True).start()
        stop.wait()
    except DatacenterError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    finally:
        datacenter.stop()


def _set_at_eof(stop: threading.Event) -> None:
    sys.stdin.read()  # until the caller closes our stdin (or exits)
    stop.set()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
