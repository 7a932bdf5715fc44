"""`pronote-dc console mon-compte …`: the Mon compte panel (hosting number, formula,
licence expiry); renewal and credentials are `pronote-dc order`, the version change
`pronote-dc year`."""

from __future__ import annotations

import datetime

import typer

from datacenter.cli.options import JsonOption, UaiOption
from datacenter.cli.output import emit_object
from datacenter.cli.remote import open_console, to_dict
from protos import console_pb2

app = typer.Typer(help="Mon compte: hosting number, formula, licence expiry.", no_args_is_help=True)


@app.command()
def account(ctx: typer.Context, uai: UaiOption = "", as_json: JsonOption = False) -> None:
    """Mon compte: hosting number, client number, formula, licence expiry, licences."""
    reply = to_dict(open_console(ctx).GetAccount(console_pb2.SchoolRef(uai=uai)))
    if as_json:
        emit_object(reply, as_json=True)
        return
    expires = reply["licence_expires_on"]
    formula = str(reply["formula"]).removeprefix("FORMULA_").lower()
    r = reply["responsable"]
    emit_object(
        {
            "établissement": f"{reply['uai']} - {reply['name']}",
            "numéro d'hébergement": reply["hosting_number"],
            "numéro de client": reply["client_number"] or "(provisioned without an order)",
            "formule": "profs illimités" if formula == "unlimited" else f"{formula} profs",
            "votre licence d'hébergement expire le": datetime.date.fromisoformat(expires).strftime(
                "%d/%m/%Y"
            )
            if expires
            else "(no hosting licence: provisioned without an order)",
            "administrateurs et modifiants": reply["administratif_licences"],
            "responsable hébergement": f"{r['name']}, +33{r['mobile']}, {r['email']}",
            "connexion des clients": f"{reply['address']}:{reply['client_port']}",
        },
        as_json=False,
        title="Mon compte",
    )
