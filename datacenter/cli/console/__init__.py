"""`pronote-dc console …`: the hosting console of one school (Serveur PRONOTE panel).

A school's responsable logs in with `console login`; the operator acts on any school with --uai.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any

import typer

from datacenter.cli.output import console, emit, emit_object
from datacenter.cli.remote import (
    cli_state,
    console_address,
    forget_console_session,
    open_console,
    rpc_errors,
    save_console_session,
    to_dict,
)
from protos import console_pb2

app = typer.Typer(
    help="One school's hosting console, grouped like its panels (log in first, or --uai)."
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
UaiOption = Annotated[
    str, typer.Option("--uai", help="The school (implied after `console login`).")
]


def _when(seconds: Any) -> str:
    if not seconds:
        return ""
    moment = datetime.datetime.fromtimestamp(float(seconds), tz=datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


COUNTER_GROUPS = {
    "Ressources": ["professeurs", "matieres", "classes", "groupes", "eleves", "salles"],
    "Scolarité": [
        "devoirs", "notes", "cahiers_de_textes", "appreciations", "documents_joints",
        "evaluations",
    ],
    "Vie scolaire": ["sanctions", "punitions", "absences", "retards", "suivis"],
}  # fmt: skip


def emit_base(base: dict[str, Any], as_json: bool, title: str) -> None:
    """A base as the console shows it: its dates, then its counters by group."""
    if as_json:
        emit_object(base, as_json=True)
        return
    counters = base.get("counters", {})
    view = {
        "id": base["id"],
        "name": base["name"],
        "created": _when(base["created_at_seconds"]),
        "in service": base["in_service"],
        "spr": base["spr_login"],
    }
    for group, names in COUNTER_GROUPS.items():
        view[group] = ", ".join(f"{counters.get(n, 0)} {n.replace('_', ' ')}" for n in names)
    emit_object(view, as_json=False, title=title)


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


@app.command()
def bases(ctx: typer.Context, uai: UaiOption = "", as_json: JsonOption = False) -> None:
    """The server state and its bases with their counters."""
    reply = to_dict(open_console(ctx).ListBases(console_pb2.SchoolRef(uai=uai)))
    if as_json:
        emit_object(reply, as_json=True)
        return
    state = "En service" if reply["server_state"] == "SERVER_STATE_SERVING" else "Arrêté"
    console.print(f"Serveur PRONOTE: [bold]{state}[/]")
    rows = [
        {
            "id": b["id"],
            "name": b["name"],
            "in_service": b["in_service"],
            "created": _when(b["created_at_seconds"]),
            "spr": b["spr_login"],
            "professeurs": b["counters"]["professeurs"],
            "eleves": b["counters"]["eleves"],
        }
        for b in reply.get("bases", [])
    ]
    emit(rows, as_json=False, title="bases")


@app.command("create-base")
def create_base(
    ctx: typer.Context,
    school_year: Annotated[str, typer.Argument(help="e.g. 2026-2027")],
    synthetic_seed: Annotated[
        str,
        typer.Option(help="Hold a synthetic school generated from this seed (e.g. the UAI)."),
    ] = "",
    uai: UaiOption = "",
    as_json: JsonOption = False,
) -> None:
    """Create a base for a school year, empty or holding a synthetic school (the server must
    be stopped)."""
    request = console_pb2.CreateBaseRequest(
        uai=uai, school_year=school_year, synthetic_seed=synthetic_seed
    )
    emit_base(to_dict(open_console(ctx).CreateBase(request)), as_json, title="base created")


@app.command("issue-password")
def issue_password(
    ctx: typer.Context,
    login: Annotated[str, typer.Argument(help="A person of the school, e.g. eleve.dupont.l")],
    password: Annotated[str, typer.Option(help="The password to give them.")],
    uai: UaiOption = "",
    as_json: JsonOption = False,
) -> None:
    """Give a person of the synthetic school in service a PRONOTE.net password."""
    request = console_pb2.IssuePasswordRequest(uai=uai, login=login, password=password)
    issued = to_dict(open_console(ctx).IssuePassword(request))
    emit_object(issued, as_json, title="password issued")


@app.command("put-in-service")
def put_in_service(
    ctx: typer.Context,
    base_id: Annotated[str, typer.Argument(help="The base's id (see `console bases`).")],
    spr_login: Annotated[str, typer.Option(help="SPR login: first mise en service only.")] = "",
    spr_password: Annotated[
        str, typer.Option(help="SPR password: first mise en service only.")
    ] = "",
    uai: UaiOption = "",
    as_json: JsonOption = False,
) -> None:
    """Mettre en service: make a base reachable by clients."""
    request = console_pb2.PutBaseInServiceRequest(
        uai=uai, base_id=base_id, spr_login=spr_login, spr_password=spr_password
    )
    base = to_dict(open_console(ctx).PutBaseInService(request))
    emit_base(base, as_json, title="base in service (En service)")


@app.command("stop-server")
def stop_server(ctx: typer.Context, uai: UaiOption = "") -> None:
    """Arrêter le serveur: every connected client is disconnected."""
    open_console(ctx).StopServer(console_pb2.SchoolRef(uai=uai))
    console.print("Serveur PRONOTE stopped (Arrêté)")


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
    count: Annotated[int, typer.Argument(help="Licences kept for the Administration group.")],
    uai: UaiOption = "",
) -> None:
    """Reserve licences en modification for the Administration group."""
    request = console_pb2.SetReservedLicencesRequest(uai=uai, count=count)
    usage = open_console(ctx).SetReservedLicences(request)
    console.print(f"{usage.reserved_for_administration} licences reserved for the administrators")


@app.command()
def connections(ctx: typer.Context, uai: UaiOption = "", as_json: JsonOption = False) -> None:
    """Suivi des connexions: every live connection."""
    reply = open_console(ctx).ListConnections(console_pb2.SchoolRef(uai=uai))
    rows = [to_dict(c) for c in reply.connections]
    if not as_json:
        rows = [
            {
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
            for c in rows
        ]
    emit(rows, as_json, title="connexions")


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
    rows = [to_dict(s) for s in reply.suspended_ips]
    if not as_json:
        rows = [
            {
                "ip": s["ip"],
                "failures": s["failures"],
                "since": _when(s["suspended_at_seconds"]),
                "until": _when(s["suspended_until_seconds"]),
            }
            for s in rows
        ]
    emit(rows, as_json, title="suspended IPs")


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
