"""`pronote-dc lab`: a Docker Swarm of N Docker-in-Docker nodes on this machine, to rehearse a
data-center spread over several hosts (provisioning/swarm_lab.py). `lab up` starts the nodes
(sshd in each), makes node 0 the manager and joins the others over SSH with fabric, exactly as
`pronote-dc nodes add ssh://root@<node>` does; it prints the runtime URL to give the controller.
`lab down` removes the lab's containers, volumes and bridge (label `pronote-dc.lab=<id>`)."""

from __future__ import annotations

import os
import time
from typing import Annotated

import typer

from datacenter.cli.output import console, emit, fail
from datacenter.cli.remote import cli_state
from provisioning.runtime import RuntimeFailure

app = typer.Typer(help="A Docker Swarm lab on this machine (Docker-in-Docker nodes with sshd).")

LabOption = Annotated[str, typer.Option("--lab", help="Lab name (label pronote-dc.lab=NAME).")]
DEFAULT_AGENT_IMAGE = "pronote-dc/agent:latest"


@app.command()
def up(
    ctx: typer.Context,
    nodes: Annotated[int, typer.Option(help="How many nodes (node 0 is the manager).")] = 3,
    subnet: Annotated[str, typer.Option(help="The lab bridge's subnet.")] = "172.29.88.0/24",
    lab: LabOption = "lab",
    image: Annotated[
        str | None,
        typer.Option(help="Agent image loaded on every node (env PRONOTE_DC_AGENT_IMAGE)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Start NODES Docker-in-Docker nodes and form a swarm; print the swarm:// runtime URL."""
    from provisioning import swarm_lab

    image = image or os.environ.get("PRONOTE_DC_AGENT_IMAGE", DEFAULT_AGENT_IMAGE)
    lab_dir = cli_state(ctx).settings().state_dir / "lab" / lab
    started = time.monotonic()

    def step(text: str) -> None:
        if not as_json:
            console.print(f"[dim]{time.monotonic() - started:5.1f} s[/] {text}")

    try:
        step(f"starting {nodes} nodes on {subnet}")
        found = swarm_lab.up(lab, nodes, subnet, lab_dir)
        try:
            url = swarm_lab.form_swarm(found, lab_dir, image, on_step=step)
        except BaseException:
            swarm_lab.down(lab)
            raise
    except RuntimeFailure as error:
        fail(f"{error} (nothing of lab {lab!r} was left behind)")
    if image != DEFAULT_AGENT_IMAGE:
        url = f"{url}?image={image}"
    rows = [{"node": n.name, "address": n.address, "ssh": f"ssh://root@{n.address}"} for n in found]
    if as_json:
        emit([{"runtime": url, "key": str(swarm_lab.key_path(lab_dir)), "nodes": rows}], True)
        return
    emit(rows, False, title=f"lab {lab}: {len(found)} nodes")
    console.print(
        f"runtime: [bold]{url}[/]  (PRONOTE_DC_RUNTIME={url} pronote-dc up)\n"
        f"SSH key: {swarm_lab.key_path(lab_dir)}"
    )


@app.command("list")
def list_nodes(
    lab: LabOption = "lab",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """The lab's node containers and their state."""
    from provisioning import swarm_lab

    try:
        found = swarm_lab.listing(lab)
    except RuntimeFailure as error:
        fail(str(error))
    emit([n.__dict__ for n in found], as_json, title=f"lab {lab}")


@app.command("stop-node")
def stop_node(
    index: Annotated[int, typer.Argument(help="Node number (0 is the manager).")],
    lab: LabOption = "lab",
) -> None:
    """Stop one node's container: a hypervisor lost (its schools come back elsewhere)."""
    from provisioning import swarm_lab

    try:
        swarm_lab.stop_node(lab, index)
    except RuntimeFailure as error:
        fail(str(error))
    console.print(f"node {index} of lab {lab} stopped")


@app.command("add-host")
def add_host(
    ctx: typer.Context,
    lab: LabOption = "lab",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """One more host on the lab's bridge with sshd and NO engine, not in the swarm: rehearse
    `pronote-dc nodes add ssh://root@<host>` installing the engine (from the .deb files
    `make docker-images` downloaded), loading the agent image and joining."""
    from provisioning import swarm_lab

    lab_dir = cli_state(ctx).settings().state_dir / "lab" / lab
    try:
        node = swarm_lab.add_host(lab, lab_dir)
    except RuntimeFailure as error:
        fail(str(error))
    row = {"node": node.name, "address": node.address, "ssh": f"ssh://root@{node.address}"}
    emit([{**row, "key": str(swarm_lab.key_path(lab_dir))}], as_json, title=f"lab {lab}: new host")


@app.command("start-node")
def start_node(
    index: Annotated[int, typer.Argument(help="Node number (0 is the manager).")],
    lab: LabOption = "lab",
) -> None:
    """Start a stopped node again: the hypervisor is back, its engine rejoins the swarm."""
    from provisioning import swarm_lab

    try:
        swarm_lab.start_node(lab, index)
    except RuntimeFailure as error:
        fail(str(error))
    console.print(f"node {index} of lab {lab} started")


@app.command()
def down(lab: LabOption = "lab") -> None:
    """Remove the lab's node containers, their volumes and its bridge (by label)."""
    from provisioning import swarm_lab

    try:
        removed = swarm_lab.down(lab)
    except RuntimeFailure as error:
        fail(str(error))
    console.print(f"lab {lab}: removed {removed} containers, volumes and networks")
