"""`pronote-dc year …`: Mon compte > Changement de version (pre-version, deferral, the August
switch) and "Récupérer les données de l'an passé" (DOMAIN.md "Yearly cycle")."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from datacenter.cli.options import JsonOption, UaiOption
from datacenter.cli.output import console, emit, emit_object, fail
from datacenter.cli.remote import open_console, to_dict
from protos import console_pb2

app = typer.Typer(
    help="The yearly cycle: pre-version, the August switch and its deferral, last year's data."
)
CHOICES = {
    "automatic": "automatique (21-24 août)",
    "deferred_new_base": "différé, nouvelle base vide",
    "deferred_keep_base": "différé, base en service conservée",
    "preversion": "pré-version",
}
COLUMNS = ["uai", "new_school_year", "switch_on", "choice", "preversion_on", "outcome", "base"]


def _view(change: console_pb2.VersionChange, as_json: bool, title: str) -> None:
    data = to_dict(change)
    if not as_json:
        data["choice"] = CHOICES.get(data["choice"], data["choice"])
    emit_object(data, as_json, title=title)


@app.command()
def show(ctx: typer.Context, uai: UaiOption = "", as_json: JsonOption = False) -> None:
    """Changement de version: the switch day, the choice made, and what the switch did."""
    change = open_console(ctx).GetVersionChange(console_pb2.SchoolRef(uai=uai))
    _view(change, as_json, "changement de version")


@app.command("list")
def list_changes(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Every school's version change this cycle (operator)."""
    reply = open_console(ctx, operator=True).ListVersionChanges(console_pb2.ListSchoolsRequest())
    emit(
        [to_dict(c) for c in reply.changes],
        as_json,
        title="changements de version",
        columns=COLUMNS,
    )


@app.command()
def preversion(ctx: typer.Context, uai: UaiOption = "", as_json: JsonOption = False) -> None:
    """Préparer la rentrée avec la pré-version (6-20 July): last year's base in service is
    unpublished and replaced by an empty base of the new year."""
    change = open_console(ctx).RequestPreversion(console_pb2.SchoolRef(uai=uai))
    _view(change, as_json, "pré-version installée")


@app.command()
def defer(
    ctx: typer.Context,
    date: Annotated[str, typer.Argument(help="YYYY-MM-DD, from 21 August to 30 September.")],
    new_base: Annotated[
        bool, typer.Option("--new-base", help="Put a new empty base in service then.")
    ] = False,
    keep_base: Annotated[
        bool, typer.Option("--keep-base", help="Keep the base in service then.")
    ] = False,
    uai: UaiOption = "",
    as_json: JsonOption = False,
) -> None:
    """Différer l'installation de la version définitive to DATE."""
    if new_base == keep_base:
        fail("choose what to put in service on that date: --new-base or --keep-base")
    request = console_pb2.DeferSwitchRequest(uai=uai, date=date, keep_base_in_service=keep_base)
    _view(open_console(ctx).DeferSwitch(request), as_json, f"installation différée au {date}")


@app.command()
def recover(
    ctx: typer.Context,
    kind: Annotated[
        list[str] | None,
        typer.Option(help="A data kind (repeat): e.g. identifiants_et_mots_de_passe, maquettes."),
    ] = None,
    all_kinds: Annotated[bool, typer.Option("--all", help="Every data kind.")] = False,
    uai: UaiOption = "",
    as_json: JsonOption = False,
) -> None:
    """Récupérer les données de l'an passé from the July archive into the base in service."""
    kinds = kind or []
    if all_kinds == bool(kinds):
        fail("choose the data to recover: --kind NAME (repeatable) or --all")
    request = console_pb2.RecoverLastYearRequest(uai=uai, kinds=kinds, all=all_kinds)
    reply = open_console(ctx).RecoverLastYear(request)
    if as_json:
        emit_object(to_dict(reply), as_json=True)
        return
    rows: list[dict[str, Any]] = [
        {"données": k.label, "kind": k.kind, "récupérées": k.records} for k in reply.kinds
    ]
    emit(rows, as_json=False, title=f"{reply.archive} -> {reply.base}")
    console.print("identifiants: the users of last year log in with their passwords again")
