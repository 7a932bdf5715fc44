"""`pronote-dc console pronote-net …`: the PRONOTE.net panel (seed 004 Fiches 8-9)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from common.files import write_atomically
from datacenter.cli.options import JsonOption, UaiOption
from datacenter.cli.output import console, emit, emit_object, fail
from datacenter.cli.remote import open_console, to_dict
from protos import common_pb2, console_pb2

app = typer.Typer(
    help="PRONOTE.net: publication, espaces and their addresses, delegation to an ENT.",
    invoke_without_command=True,
)


def _show(reply: Any, as_json: bool) -> None:
    publication = to_dict(reply)
    if as_json:
        emit_object(publication, as_json=True)
        return
    state = "Base publiée" if publication["published"] else "Publication arrêtée"
    console.print(f"PRONOTE.net: [bold]{state}[/]  Base : {publication['base'] or '(aucune)'}")
    rows = [
        {
            "page": e["label"],
            "publier": e["published"],
            "adresses de connexion": f"{e['url']}\n{e['mobile_url']}",
            "nom public": f"{e['public_url']}\n{e['public_mobile_url']}",
            "ENT": e["delegated"],
            "connexion directe": e["direct_login_allowed"],
        }
        for e in publication["espaces"]
    ]
    emit(rows, as_json=False, title="Adresses de connexion des internautes")
    delegation = publication.get("delegation")
    if delegation:
        console.print(
            f"Délégation : {delegation['ent_name']} ({delegation['protocol']}) pour "
            f"{', '.join(delegation['espaces'])}; authentification directe "
            f"{'autorisée' if delegation['allow_direct_authentication'] else 'interdite'}"
        )
    if publication["published"]:
        console.print("[dim]stop the publication to change these parameters[/]")


@app.callback()
def panel(ctx: typer.Context, uai: UaiOption = "", as_json: JsonOption = False) -> None:
    """Without a command: the publication state and the address of every page."""
    if ctx.invoked_subcommand is None:
        _show(open_console(ctx).GetPublication(console_pb2.SchoolRef(uai=uai)), as_json)


@app.command()
def publish(ctx: typer.Context, uai: UaiOption = "", as_json: JsonOption = False) -> None:
    """Publier la base: the published espaces are served again."""
    request = console_pb2.SetPublishedRequest(uai=uai, published=True)
    _show(open_console(ctx).SetPublished(request), as_json)


@app.command()
def stop(ctx: typer.Context, uai: UaiOption = "", as_json: JsonOption = False) -> None:
    """Arrêter la publication: no espace is served; the parameters can then be changed."""
    request = console_pb2.SetPublishedRequest(uai=uai, published=False)
    _show(open_console(ctx).SetPublished(request), as_json)


@app.command()
def espace(
    ctx: typer.Context,
    page: Annotated[
        str,
        typer.Argument(
            help="commune, direction, professeur, viescolaire, "
            "parent, accompagnant, eleve, entreprise, academie"
        ),
    ],
    published: Annotated[
        bool, typer.Option("--publish/--no-publish", help="Check or uncheck 'Publier'.")
    ],
    uai: UaiOption = "",
    as_json: JsonOption = False,
) -> None:
    """Publish a page or not (publication stopped first)."""
    request = console_pb2.SetPagePublishedRequest(uai=uai, page=page, published=published)
    _show(open_console(ctx).SetPagePublished(request), as_json)


def _parameters(pairs: list[str]) -> dict[str, str]:
    parameters: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            fail(f"--param {pair!r}: write it as name=value, e.g. server_url=https://ent/cas")
        parameters[key.strip()] = value.strip()
    return parameters


@app.command()
def delegate(
    ctx: typer.Context,
    espaces: Annotated[
        list[str] | None,
        typer.Option("--espace", "-e", help="An espace using the ENT (repeatable)."),
    ] = None,
    ent: Annotated[str, typer.Option(help="An ENT of `pronote-net ents` (id or name).")] = "",
    protocol: Annotated[
        str, typer.Option(help="cas, educonnect, saml2 or ws-federation (manual configuration).")
    ] = "",
    params: Annotated[
        list[str] | None,
        typer.Option("--param", help="Manual configuration: name=value (repeatable)."),
    ] = None,
    direct: Annotated[
        bool,
        typer.Option(
            "--direct/--no-direct", help="Autoriser l'authentification directe beside the ENT."
        ),
    ] = True,
    uai: UaiOption = "",
    as_json: JsonOption = False,
) -> None:
    """Déléguer l'authentification to an ENT (publication stopped first)."""
    delegation = common_pb2.Delegation(
        protocol=protocol,
        ent=ent,
        parameters=_parameters(params or []),
        espaces=espaces or [],
        allow_direct_authentication=direct,
    )
    request = console_pb2.SetDelegationRequest(uai=uai, delegation=delegation)
    _show(open_console(ctx).SetDelegation(request), as_json)


@app.command()
def undelegate(ctx: typer.Context, uai: UaiOption = "", as_json: JsonOption = False) -> None:
    """Remove the delegation: every espace authenticates directly again."""
    _show(open_console(ctx).RemoveDelegation(console_pb2.SchoolRef(uai=uai)), as_json)


@app.command()
def ents(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """The ENT catalogue and the protocols of a manual configuration."""
    reply = to_dict(open_console(ctx).ListEnts(console_pb2.EntsRequest()))
    if as_json:
        emit_object(reply, as_json=True)
        return
    rows = [{"id": e["id"], "ENT": e["name"], "protocole": e["protocol"]} for e in reply["ents"]]
    emit(rows, as_json=False, title="Mon ENT")
    console.print(f"Configuration manuelle: {', '.join(reply['protocols'])}")


@app.command("export-identifiers")
def export_identifiers(
    ctx: typer.Context,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="File to write (default: its name).")
    ] = None,
    uai: UaiOption = "",
) -> None:
    """Export the users' PRONOTE identifiers for the ENT (IdPN_To_<ENT>.xml)."""
    reply = open_console(ctx).ExportIdentifiers(console_pb2.SchoolRef(uai=uai))
    target = output or Path(reply.file_name)
    write_atomically(target, reply.data)
    console.print(f"{reply.users} users' identifiers written to {target}")
