"""`pronote-dc console …`: one school's hosting console, its commands grouped like its panels.

A school's responsable logs in with `console login`; the operator acts on any school with
--uai. Each module of this package is one panel of the hosting console (seed 004): serveur
(Serveur PRONOTE), clients, pronote_net, mes_archives, mon_compte; a command is written once,
in its panel's module. The flat names of earlier versions (`console licences`…) stay as hidden
aliases so scripts written against them keep working.
"""

from __future__ import annotations

import copy
from typing import Annotated

import typer

from datacenter.cli.console import clients, mes_archives, mon_compte, pronote_net, serveur
from datacenter.cli.output import console
from datacenter.cli.remote import (
    cli_state,
    console_address,
    forget_console_session,
    rpc_errors,
    save_console_session,
)
from protos import console_pb2

app = typer.Typer(
    help="One school's hosting console, grouped like its panels (log in first, or --uai)."
)

# The panels in the console's order: (command name, module's Typer app).
PANELS: dict[str, typer.Typer] = {
    "serveur": serveur.app,
    "clients": clients.app,
    "pronote-net": pronote_net.app,
    "mes-archives": mes_archives.app,
    "mon-compte": mon_compte.app,
}
# Panels whose commands also answer, hidden, at the top of `console` (the names before panels).
FLAT_ALIASES = ("serveur", "clients", "mes-archives", "mon-compte")


@app.command()
def login(
    ctx: typer.Context,
    hosting_number: Annotated[str, typer.Option(help="N° d'hébergement (12 digits).")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, help="Console password.")],
    invoice_number: Annotated[
        str, typer.Option(help="Invoice number: needed at the first login only.")
    ] = "",
) -> None:
    """Log in as a school's responsable hébergement; later console commands act on that school."""
    import grpc

    from protos import console_pb2_grpc

    settings = cli_state(ctx).settings()
    stub = console_pb2_grpc.ConsoleStub(grpc.insecure_channel(console_address(settings)))
    with rpc_errors():
        reply = stub.Login(
            console_pb2.LoginRequest(
                hosting_number=hosting_number, password=password, invoice_number=invoice_number
            ),
            timeout=30,
        )
    save_console_session(settings, reply.token, reply.uai)
    console.print(f"logged in to the console of school {reply.uai}")


@app.command()
def logout(ctx: typer.Context) -> None:
    """Forget the saved console session (commands then use the operator token)."""
    if forget_console_session(cli_state(ctx).settings()):
        console.print("logged out")
    else:
        console.print("no console session was saved")


def command_name(info: typer.models.CommandInfo) -> str:
    if info.name:
        return info.name
    assert info.callback is not None
    return info.callback.__name__.replace("_", "-")


def _add_panels() -> None:
    for name, panel in PANELS.items():
        app.add_typer(panel, name=name)
    for name in FLAT_ALIASES:
        for info in PANELS[name].registered_commands:
            alias = copy.copy(info)
            alias.name, alias.hidden = command_name(info), True
            app.registered_commands.append(alias)


_add_panels()
