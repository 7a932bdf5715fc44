"""`pronote-dc nodes`: the hosts of a swarm:// data-center (provisioning/swarm_nodes.py).
They act on the swarm manager of the runtime URL (PRONOTE_DC_RUNTIME or --runtime), not
through the controller: a node can be added before any controller runs."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from datacenter.cli.output import console, emit, fail
from datacenter.cli.remote import cli_state
from provisioning.runtime import RuntimeFailure

app = typer.Typer(help="The hosts of a swarm:// data-center: list, add over SSH, drain, remove.")

RuntimeOption = Annotated[
    str | None, typer.Option(help="swarm://MANAGER:PORT (default: PRONOTE_DC_RUNTIME).")
]


def _runtime(ctx: typer.Context, runtime: str | None):  # type: ignore[no-untyped-def]
    from provisioning.swarm import SwarmRuntime

    url = runtime or cli_state(ctx).settings().runtime
    if not url.startswith("swarm://"):
        fail(
            f"nodes are those of a swarm:// runtime, and the runtime is {url}: give "
            "--runtime swarm://MANAGER:2375 or set PRONOTE_DC_RUNTIME "
            "(`pronote-dc lab up` prints it)"
        )
    try:
        return SwarmRuntime(url)
    except RuntimeFailure as error:
        fail(str(error))


@app.command("list")
def list_nodes(
    ctx: typer.Context,
    runtime: RuntimeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Every node: role, state, availability, schools running there, CPUs and memory."""
    from provisioning import swarm_nodes

    swarm = _runtime(ctx, runtime)
    try:
        rows = swarm_nodes.rows(swarm.client, swarm.school_tasks_per_node())
    except RuntimeFailure as error:
        fail(str(error))
    emit([dataclasses.asdict(r) for r in rows], as_json, title=f"nodes of {swarm.url}")


@app.command()
def add(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="ssh://user@host[:port] of the host to join.")],
    key: Annotated[
        Path | None, typer.Option(help="SSH private key (default: your agent and ~/.ssh).")
    ] = None,
    debs: Annotated[
        Path | None,
        typer.Option(
            help="docker.io's .deb files by <codename>-<arch>, uploaded to a host without an "
            "engine (default: PRONOTE_DC_ENGINE_DEBS, else what `make docker-images` "
            "downloaded; none for its release: apt-get there).",
        ),
    ] = None,
    runtime: RuntimeOption = None,
) -> None:
    """Bootstrap a host over SSH (engine, agent image), join it to the swarm and label it."""
    from provisioning import swarm_nodes

    swarm = _runtime(ctx, runtime)
    try:
        node_id = swarm_nodes.add(
            swarm.client, swarm.manager_address, url, swarm.image, key_filename=key, debs=debs
        )
    except RuntimeFailure as error:
        fail(str(error))
    console.print(f"{url} joined the swarm as node {node_id[:12]}")


def _set_availability(
    ctx: typer.Context, node: str, runtime: str | None, availability: str
) -> None:
    """Swarm's availability of `node` ("drain" or "active"); a refusal ends the command."""
    from provisioning import swarm_nodes

    swarm = _runtime(ctx, runtime)
    try:
        swarm_nodes.set_availability(swarm.client, node, availability)
    except RuntimeFailure as error:
        fail(str(error))


@app.command()
def drain(
    ctx: typer.Context,
    node: Annotated[str, typer.Argument(help="Node hostname, address or id.")],
    runtime: RuntimeOption = None,
) -> None:
    """Move the node's schools elsewhere (each restores its latest sauvegarde) and keep it empty."""
    _set_availability(ctx, node, runtime, "drain")
    console.print(f"node {node} drained: its schools move to the other nodes")


@app.command()
def activate(
    ctx: typer.Context,
    node: Annotated[str, typer.Argument(help="Node hostname, address or id.")],
    runtime: RuntimeOption = None,
) -> None:
    """Let a drained node take schools again."""
    _set_availability(ctx, node, runtime, "active")
    console.print(f"node {node} active")


@app.command()
def remove(
    ctx: typer.Context,
    node: Annotated[str, typer.Argument(help="Node hostname, address or id.")],
    force: Annotated[bool, typer.Option(help="Remove it even if it is still up.")] = False,
    runtime: RuntimeOption = None,
) -> None:
    """Remove a drained or lost node from the swarm."""
    from provisioning import swarm_nodes

    swarm = _runtime(ctx, runtime)
    try:
        stranded = swarm_nodes.remove(swarm.client, node, force)
    except RuntimeFailure as error:
        fail(str(error))
    console.print(f"node {node} removed from the swarm")
    if stranded:
        console.print(
            f"{len(stranded)} volume(s) of schools no longer there stay on that host's disk "
            f"({', '.join(sorted(stranded))}): the data-center no longer uses them; wipe the "
            "host (or `docker volume rm` them there) before it joins again"
        )
