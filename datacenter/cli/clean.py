"""`pronote-dc clean`: remove every container, network and volume the project created on a
Docker engine (found by their `pronote-dc.*` labels). Backups stay unless --purge-backups."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from datacenter.cli.output import console, emit, fail
from datacenter.cli.remote import cli_state
from provisioning.runtime import RuntimeFailure


def clean(
    ctx: typer.Context,
    runtime: Annotated[
        str | None,
        typer.Option(
            help="Docker runtime URL (default: PRONOTE_DC_RUNTIME if docker, else docker://)."
        ),
    ] = None,
    purge_backups: Annotated[
        bool, typer.Option("--purge-backups", help="Remove the schools' backups volumes too.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Remove every container, network and volume pronote-dc created (backups kept)."""
    if runtime is None:
        configured = cli_state(ctx).settings().runtime
        runtime = (
            configured if configured.startswith(("docker:", "ssh:", "swarm:")) else "docker://"
        )
    try:
        if runtime.startswith("swarm:"):  # its backups are in the data-center's store
            from provisioning import swarm_clean

            found: list[Any] = list(swarm_clean.leftovers(runtime))
            remove: Callable[[], None] = lambda: swarm_clean.remove_leftovers(runtime, found)  # noqa: E731
        else:
            from provisioning import docker_clean

            found = list(docker_clean.leftovers(runtime, purge_backups))
            remove = lambda: docker_clean.remove_leftovers(runtime, found)  # noqa: E731
        rows = [{"kind": f.kind, "name": f.name, "detail": f.detail} for f in found]
        if not found:
            emit([], as_json, title=f"nothing of pronote-dc on {runtime}")
            return
        if not yes:
            emit(rows, as_json=False, title=f"to remove from {runtime}")
            typer.confirm(f"remove these {len(found)} items?", abort=True)
        remove()
    except RuntimeFailure as error:
        fail(str(error))
    if as_json:
        emit(rows, as_json=True)
    else:
        if runtime.startswith("swarm:"):
            console.print(
                f"removed {len(found)} services, containers, networks, volumes and routes "
                "(backups stay in the data-center's store, the state directory's backups/)"
            )
            return
        kept = "" if purge_backups else " (backups kept: --purge-backups removes them)"
        console.print(f"removed {len(found)} containers, networks and volumes{kept}")
