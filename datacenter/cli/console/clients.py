"""`pronote-dc console clients …`: the Clients panel (seed 004 Fiche 4): the connection
parameters of Client PRONOTE and Client EDT, licences, connections, suspended IPs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Annotated, Any

import typer

from datacenter.cli.options import JsonOption, UaiOption, when
from datacenter.cli.output import console, emit, emit_object
from datacenter.cli.remote import open_console, to_dict
from protos import console_pb2

app = typer.Typer(
    help="Clients: connection parameters (address + port 49300), licences, connections, security.",
    invoke_without_command=True,
)


@app.callback()
def panel(ctx: typer.Context, uai: UaiOption = "", as_json: JsonOption = False) -> None:
    """Without a command: the connection parameters (the school's address and port 49300)."""
    if ctx.invoked_subcommand is None:
        show_client_parameters(ctx, uai, as_json)


def show_client_parameters(ctx: typer.Context, uai: str, as_json: bool) -> None:
    """Clients: the connection parameters of Client PRONOTE and Client EDT."""
    reply = to_dict(open_console(ctx).GetClientParameters(console_pb2.SchoolRef(uai=uai)))
    if as_json:
        emit_object(reply, as_json=True)
        return
    emit_object(
        {
            "établissement": f"{reply['uai']} {reply['name']}",
            "adresse": reply["address"],
            "port": reply["port"],
            "nom public": reply["public_host"],
        },
        as_json=False,
        title="Paramètres de connexion (Client PRONOTE, Client EDT)",
    )


@app.command()
def licences(ctx: typer.Context, uai: UaiOption = "", as_json: JsonOption = False) -> None:
    """Licences utilisées: en modification, reserved, teachers, vie scolaire, EDT."""
    usage = to_dict(open_console(ctx).GetLicences(console_pb2.SchoolRef(uai=uai)))
    if as_json:
        emit_object(usage, as_json=True)
        return
    teachers = usage["enseignant_capacity"] or "unlimited"
    emit_object(
        {
            "licences en modification": f"{usage['administratif_in_use']}/"
            f"{usage['administratif_capacity']}",
            "réservées pour les administrateurs": usage["reserved_for_administration"],
            "utilisateurs en mode Enseignant": f"{usage['enseignant_in_use']}/{teachers}",
            "utilisateurs en mode Vie scolaire": usage["vie_scolaire_in_use"],
            "connexions Client EDT": usage["edt_in_use"],
        },
        as_json=False,
        title="Licences utilisées",
    )


@app.command("reserve-licences")
def reserve_licences(
    ctx: typer.Context,
    count: Annotated[
        int,
        typer.Argument(help="Licences kept for the Administration group.", min=0, max=2**31 - 1),
    ],
    uai: UaiOption = "",
) -> None:
    """Reserve licences en modification for the Administration group."""
    request = console_pb2.SetReservedLicencesRequest(uai=uai, count=count)
    usage = open_console(ctx).SetReservedLicences(request)
    console.print(f"{usage.reserved_for_administration} licences reserved for the administrators")


def _emit_rows(
    messages: Iterable[Any],
    row: Callable[[dict[str, Any]], dict[str, Any]],
    as_json: bool,
    title: str,
) -> None:
    """A listing: each message as its JSON fields, or (for people) as `row` shows it."""
    rows = [to_dict(m) for m in messages]
    emit(rows if as_json else [row(r) for r in rows], as_json, title=title)


@app.command()
def connections(ctx: typer.Context, uai: UaiOption = "", as_json: JsonOption = False) -> None:
    """Suivi des connexions: every live connection."""
    reply = open_console(ctx).ListConnections(console_pb2.SchoolRef(uai=uai))

    def row(c: dict[str, Any]) -> dict[str, Any]:
        return {
            "poste": c["poste"],
            "application": c["application"],
            "état": c["state"],
            "mode": str(c["mode"]).removeprefix("MODE_").replace("_", " ").title()
            if c["mode"] != "MODE_UNSPECIFIED"  # PRONOTE.net: no Client mode
            else "",
            "utilisateur": c["user"],
            "base": c["base"],
            "session": c["session_id"],
        }

    _emit_rows(reply.connections, row, as_json, title="connexions")


@app.command()
def disconnect(
    ctx: typer.Context,
    session_id: Annotated[str, typer.Argument(help="From `console connections`.")],
    uai: UaiOption = "",
) -> None:
    """Disconnect one client."""
    request = console_pb2.DisconnectClientRequest(uai=uai, session_id=session_id)
    open_console(ctx).DisconnectClient(request)
    console.print("client disconnected")


@app.command("suspended-ips")
def suspended_ips(ctx: typer.Context, uai: UaiOption = "", as_json: JsonOption = False) -> None:
    """Sécurité: IPs suspended after too many failed logins."""
    reply = open_console(ctx).ListSuspendedIps(console_pb2.SchoolRef(uai=uai))

    def row(s: dict[str, Any]) -> dict[str, Any]:
        return {
            "ip": s["ip"],
            "failures": s["failures"],
            "since": when(s["suspended_at_seconds"]),
            "until": when(s["suspended_until_seconds"]),
        }

    _emit_rows(reply.suspended_ips, row, as_json, title="suspended IPs")


@app.command()
def unblock(
    ctx: typer.Context,
    ip: Annotated[str, typer.Argument(help="The IP to unblock.")] = "",
    all_ips: Annotated[bool, typer.Option("--all", help="Unblock every suspended IP.")] = False,
    uai: UaiOption = "",
) -> None:
    """Unblock one suspended IP, or all of them (their failure counts are forgotten too)."""
    if not ip and not all_ips:
        from datacenter.cli.output import fail

        fail("say which IP to unblock, or give --all")
    request = console_pb2.UnblockIpsRequest(uai=uai, ip=ip, all=all_ips)
    reply = open_console(ctx).UnblockIps(request)
    console.print(f"{reply.unblocked} IP(s) unblocked")
