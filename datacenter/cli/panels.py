"""`pronote-dc console <panel> <command>`: the console's commands grouped like its panels.

The hosting console is organised in panels (seed 004): Serveur PRONOTE, Clients, PRONOTE.net,
Mes archives, Mon compte. Each command module registers its commands on the flat `console`
group; this module files every one of them under its panel. The flat names stay as hidden
aliases so scripts written against them keep working.
"""

from __future__ import annotations

import copy

import typer

from datacenter.cli import console
from datacenter.cli.console import JsonOption, UaiOption, pronote_net

PANELS: dict[str, str] = {
    "serveur": "Serveur PRONOTE: the server state, its bases, their files and history.",
    "clients": "Clients: connection parameters (address + port 49300), licences, "
    "connections, security.",
    "pronote-net": "PRONOTE.net: publication, espaces and their addresses, ENT delegation.",
    "mes-archives": "Mes archives: sauvegardes every 2 h, daily archives, the July archive.",
    "mon-compte": "Mon compte: hosting number, formula, licence expiry.",
}

# Commands that stay at the top of `console` (the session, not a panel).
SESSION_COMMANDS = {"login", "logout"}

PANEL_OF: dict[str, str] = {
    "bases": "serveur",
    "create-base": "serveur",
    "put-in-service": "serveur",
    "stop-server": "serveur",
    "issue-password": "serveur",
    "load-base": "serveur",
    "complete-base": "serveur",
    "recover-users": "serveur",
    "init-from-edt": "serveur",
    "other-bases": "serveur",
    "open-base": "serveur",
    "history": "serveur",
    "licences": "clients",
    "reserve-licences": "clients",
    "connections": "clients",
    "disconnect": "clients",
    "suspended-ips": "clients",
    "unblock": "clients",
    "backups": "mes-archives",
    "archives": "mes-archives",
    "open-backup": "mes-archives",
    "download-archive": "mes-archives",
    "account": "mon-compte",
}


def command_name(info: typer.models.CommandInfo) -> str:
    if info.name:
        return info.name
    assert info.callback is not None
    return info.callback.__name__.replace("_", "-")


def unfiled_commands() -> list[str]:
    """Console commands that belong to no panel (a test keeps this empty)."""
    names = (command_name(info) for info in console.app.registered_commands)
    return [n for n in names if n not in PANEL_OF and n not in SESSION_COMMANDS]


def _clients_panel(ctx: typer.Context, uai: UaiOption = "", as_json: JsonOption = False) -> None:
    """Without a command: the connection parameters (the school's address and port 49300)."""
    if ctx.invoked_subcommand is None:
        pronote_net.show_client_parameters(ctx, uai, as_json)


def _new_panel(name: str) -> typer.Typer:
    if name == "clients":  # the panel opens on its connection parameters
        panel = typer.Typer(help=PANELS[name], invoke_without_command=True)
        panel.callback()(_clients_panel)
        return panel
    return typer.Typer(help=PANELS[name], no_args_is_help=True)


def file_under_panels() -> None:
    """Register every console command under its panel; the flat name becomes hidden.

    `pronote-net` is its own command group already (datacenter/cli/pronote_net.py)."""
    panels = {name: _new_panel(name) for name in PANELS if name != "pronote-net"}
    for info in list(console.app.registered_commands):
        name = command_name(info)
        panel = PANEL_OF.get(name)
        if panel is None:
            continue
        filed = copy.copy(info)
        filed.name = name
        panels[panel].registered_commands.append(filed)
        info.hidden = True
    for name, panel_app in panels.items():
        if panel_app.registered_commands:
            console.app.add_typer(panel_app, name=name)
