"""`pronote-dc school add|list|show|remove`: the operator's fleet commands."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from datacenter.cli.options import JsonOption
from datacenter.cli.output import console, emit, emit_object
from datacenter.cli.remote import formula_value, open_console, to_dict
from protos import console_pb2

app = typer.Typer(help="Provision, list, show and remove schools (operator).", no_args_is_help=True)


def _row(school: dict[str, object]) -> dict[str, object]:
    return {
        "uai": school["uai"],
        "name": school["name"],
        "address": school["address"],
        "port": school["client_port"],
        "state": school["state"],
        "formula": str(school["formula"]).removeprefix("FORMULA_").lower(),
        "hosting_number": school["hosting_number"],
        **({"node": school["node"]} if school.get("node") else {}),  # swarm://: its host
    }


@app.command()
def add(
    ctx: typer.Context,
    uai: Annotated[str, typer.Argument(help="UAI (RNE): 7 digits and the check letter.")],
    name: Annotated[str, typer.Option(help="The school's name.")],
    mobile: Annotated[str, typer.Option(help="Responsable's mobile (gets the password by SMS).")],
    email: Annotated[str, typer.Option(help="Responsable's e-mail (gets the hosting number).")],
    formula: Annotated[str, typer.Option(help="30, 50, 80 or unlimited (teachers).")] = "50",
    responsable: Annotated[str, typer.Option(help="Responsable hébergement's name.")] = "",
    admin_licences: Annotated[
        int, typer.Option(help="Administrateurs et modifiants (licences en modification).")
    ] = 4,
    demo: Annotated[bool, typer.Option(help="Add a base in service with sample accounts.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Provision a school: its own server on its own address."""
    formula_code = formula_value(formula)  # refused before the controller is asked
    reply = open_console(ctx, operator=True).ProvisionSchool(
        console_pb2.ProvisionSchoolRequest(
            uai=uai,
            name=name,
            formula=formula_code,
            responsable=console_pb2.Responsable(name=responsable, mobile=mobile, email=email),
            administratif_licences=admin_licences,
            demo=demo,
        )
    )
    result = to_dict(reply)
    if as_json:
        emit_object(result, as_json=True)
        return
    school = result["school"]
    emit_object(
        {
            **_row(school),
            "invoice_number": school["invoice_number"],
            "console_password": reply.console_password,
        },
        as_json=False,
        title=f"school {school['uai']} provisioned",
    )
    console.print("[yellow]the console password is shown once: note it now.[/]")


@app.command("list")
def list_schools(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Every school with its address and state."""
    reply = open_console(ctx, operator=True).ListSchools(console_pb2.ListSchoolsRequest())
    schools = [to_dict(school) for school in reply.schools]
    emit(schools if as_json else [_row(s) for s in schools], as_json, title="schools")


@app.command()
def show(
    ctx: typer.Context,
    uai: Annotated[str, typer.Argument(help="The school's UAI.")],
    as_json: JsonOption = False,
) -> None:
    """One school: address, hosting number, connection parameters, sample accounts."""
    school = to_dict(open_console(ctx).GetSchool(console_pb2.SchoolRef(uai=uai)))
    school["espaces"] = with_accounts(school.get("espaces") or [], school)
    if as_json:
        emit_object(school, as_json=True)
        return
    details = {
        "invoice_number": school["invoice_number"],
        "pronote_net": school["pronote_net"],
        "pid": school.get("pid") or "",  # its server's process, on the local runtime
    }
    emit_object({**_row(school), **details}, False, uai)
    accounts = school.get("sample_accounts") or []
    if accounts:
        emit(
            [{**a, "espaces": ", ".join(a.get("espaces") or [])} for a in accounts],
            as_json=False,
            title="sample accounts",
            columns=["role", "espaces", "login", "password"],
        )
    espaces = [
        {**e, "logins": ", ".join(a["login"] for a in e["accounts"])}
        for e in school["espaces"]
        if e["published"]
    ]
    emit(espaces, as_json=False, title="PRONOTE.net pages", columns=["page", "url", "logins"])


def with_accounts(espaces: list[dict[str, Any]], school: dict[str, Any]) -> list[dict[str, Any]]:
    """Each PRONOTE.net page (from the school itself) with the sample accounts that log in
    there, so a demo school can be tried straight from `school show`."""
    accounts = school.get("sample_accounts") or []
    return [
        {
            **page,
            "accounts": [
                {"login": a["login"], "password": a["password"]}
                for a in accounts
                if page["page"] in (a.get("espaces") or [])
            ],
        }
        for page in espaces
    ]


@app.command()
def remove(
    ctx: typer.Context,
    uai: Annotated[str, typer.Argument(help="The school's UAI.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Deprovision a school: stop its server, release its address, delete its files."""
    operator = open_console(ctx, operator=True)
    if not yes:
        # An unknown UAI is refused (NOT_FOUND) before anybody is asked to confirm.
        school = operator.GetSchool(console_pb2.SchoolRef(uai=uai))
        typer.confirm(
            f"remove school {school.uai} ({school.name}), its server and its data?", abort=True
        )
    operator.DeprovisionSchool(console_pb2.SchoolRef(uai=uai))
    console.print(f"school {uai.upper()} removed; its address is free again")
