"""`pronote-dc console serveur …`: the Serveur PRONOTE panel (seed 004 Fiches 5 and 7):
the server state and its bases, passwords, the files sent by the school (.HNOT, annexes,
.profils, EDT .zip), Autres bases and the Historique."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

from datacenter.cli.hnot import espace_choice
from datacenter.cli.options import JsonOption, UaiOption, when
from datacenter.cli.output import console, emit, emit_object, errors, fail
from datacenter.cli.passwords import SPR_PASSWORD_ENV, PasswordStdin, password_option, resolve
from datacenter.cli.remote import open_console, to_dict
from protos import common_pb2, console_pb2

CHUNK_BYTES = 1024 * 1024
UPLOAD_TIMEOUT_SECONDS = 900.0
BaseOption = Annotated[
    str, typer.Option("--base", help="Target base id (default: the base in service).")
]

app = typer.Typer(
    help="Serveur PRONOTE: the server state, its bases, their files and history.",
    no_args_is_help=True,
)

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
        "created": when(base["created_at_seconds"]),
        "in service": base["in_service"],
        "spr": base["spr_login"],
    }
    for group, names in COUNTER_GROUPS.items():
        view[group] = ", ".join(f"{counters.get(n, 0)} {n.replace('_', ' ')}" for n in names)
    emit_object(view, as_json=False, title=title)


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
            "created": when(b["created_at_seconds"]),
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
    password: Annotated[str, password_option("The password to give them.")] = "",
    password_stdin: PasswordStdin = False,
    uai: UaiOption = "",
    as_json: JsonOption = False,
) -> None:
    """Give a person of the synthetic school in service a PRONOTE.net password."""
    password = resolve(password, password_stdin, "password to give")
    request = console_pb2.IssuePasswordRequest(uai=uai, login=login, password=password)
    issued = to_dict(open_console(ctx).IssuePassword(request))
    emit_object(issued, as_json, title="password issued")


SprLogin = Annotated[str, typer.Option(help="SPR login: first mise en service only.")]


def _in_service_request(
    uai: str, base_id: str, spr_login: str, spr_password: str, password_stdin: bool
) -> console_pb2.PutBaseInServiceRequest:
    """What `put-in-service` and `open-base` send: the base, and the SPR's login and password
    (from the option, its environment variable or stdin; needed the first time only)."""
    spr_password = resolve(spr_password, password_stdin, "SPR password", required=False)
    return console_pb2.PutBaseInServiceRequest(
        uai=uai, base_id=base_id, spr_login=spr_login, spr_password=spr_password
    )


@app.command("put-in-service")
def put_in_service(
    ctx: typer.Context,
    base_id: Annotated[str, typer.Argument(help="The base's id (see `console bases`).")],
    spr_login: SprLogin = "",
    spr_password: Annotated[
        str, password_option("SPR password: first mise en service only.", SPR_PASSWORD_ENV)
    ] = "",
    password_stdin: PasswordStdin = False,
    uai: UaiOption = "",
    as_json: JsonOption = False,
) -> None:
    """Mettre en service: make a base reachable by clients."""
    request = _in_service_request(uai, base_id, spr_login, spr_password, password_stdin)
    base = to_dict(open_console(ctx).PutBaseInService(request))
    emit_base(base, as_json, title="base in service (En service)")


@app.command("stop-server")
def stop_server(ctx: typer.Context, uai: UaiOption = "") -> None:
    """Arrêter le serveur: every connected client is disconnected."""
    open_console(ctx).StopServer(console_pb2.SchoolRef(uai=uai))
    console.print("Serveur PRONOTE stopped (Arrêté)")


def _upload(ctx: typer.Context, path: Path, first: common_pb2.BaseFileChunk) -> Any:
    try:
        size = path.stat().st_size
    except OSError as error:
        fail(f"cannot read {path}: {error.strerror}")
    if not path.is_file():
        fail(f"{path} is not a file: give the path of the file to send")
    progress = Progress(
        TextColumn(f"envoi de {path.name}"), BarColumn(), DownloadColumn(), console=errors
    )

    def chunks(task: Any) -> Iterator[common_pb2.BaseFileChunk]:
        chunk = first  # the first chunk says what the file is, even when it is empty
        chunk.file_name = path.name
        with open(path, "rb") as file:
            while True:
                data = file.read(CHUNK_BYTES)
                if not data and chunk is not first:
                    return
                chunk.data = data
                progress.advance(task, len(data))
                yield chunk
                chunk = common_pb2.BaseFileChunk()

    with progress:
        task = progress.add_task("upload", total=size)
        return open_console(ctx).UploadBaseFile(chunks(task), timeout=UPLOAD_TIMEOUT_SECONDS)


FileArgument = Annotated[Path, typer.Argument(help="The file to send.")]


@app.command("load-base")
def load_base(
    ctx: typer.Context, file: FileArgument, uai: UaiOption = "", as_json: JsonOption = False
) -> None:
    """Charger une base: send a .HNOT (server stopped); it joins the bases, not in service."""
    reply = _upload(ctx, file, common_pb2.BaseFileChunk(uai=uai, operation="load"))
    _show(reply, as_json, "then `console open-base <id>` or `console put-in-service <id>`")


@app.command("complete-base")
def complete_base(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help=".HDOCJOINTS, .HPHOTOS, .HCOURRIERS")],
    base: BaseOption = "",
    uai: UaiOption = "",
    as_json: JsonOption = False,
) -> None:
    """Compléter la base hébergée: send the annexes generated with the loaded .HNOT."""
    for file in files:
        first = common_pb2.BaseFileChunk(uai=uai, operation="complete", base_id=base)
        _show(_upload(ctx, file, first), as_json, "")


@app.command("recover-users")
def recover_users(
    ctx: typer.Context,
    file: FileArgument,
    base: BaseOption = "",
    uai: UaiOption = "",
    as_json: JsonOption = False,
) -> None:
    """Récupérer les utilisateurs: restore the accounts of a .profils file into a base."""
    first = common_pb2.BaseFileChunk(uai=uai, operation="users", base_id=base)
    _show(_upload(ctx, file, first), as_json, "they log in with their own passwords")


@app.command("init-from-edt")
def init_from_edt(
    ctx: typer.Context,
    file: FileArgument,
    base: BaseOption = "",
    publish: Annotated[
        str | None,
        typer.Option(help="Espaces to publish, comma-separated (default: the choice in EDT)."),
    ] = None,
    uai: UaiOption = "",
    as_json: JsonOption = False,
) -> None:
    """Nouvelle base à partir d'EDT: resources and timetable from EDT's .zip into an empty
    base, and the espaces published as chosen."""
    choice = {} if publish is None else espace_choice(publish)
    espaces = [f"{name}={'true' if on else 'false'}" for name, on in choice.items()]
    first = common_pb2.BaseFileChunk(uai=uai, operation="edt", base_id=base, espaces=espaces)
    _show(_upload(ctx, file, first), as_json, "")


def _show(reply: Any, as_json: bool, hint: str) -> None:
    result = to_dict(reply)
    if as_json:
        json.dump(result, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return
    console.print(f"{reply.summary} ({reply.size} bytes, SHA-256 {reply.sha256[:12]}…)")
    emit_base(result["base"], as_json=False, title=hint or result["base"]["name"])
    counters = result["base"]["counters"]
    console.print(
        f"annexes: {counters['documents_joints']} documents joints, {counters['photos']} photos, "
        f"{counters['courriers']} courriers"
    )


@app.command("other-bases")
def other_bases(ctx: typer.Context, uai: UaiOption = "", as_json: JsonOption = False) -> None:
    """Autres bases: previously put in service, and downloaded from the school."""
    reply = to_dict(open_console(ctx).ListBases(console_pb2.SchoolRef(uai=uai)))
    rows = [
        {
            "liste": "Bases précédemment mises en service"
            if b["ever_in_service"]
            else "Bases téléchargées depuis l'établissement",
            "id": b["id"],
            "name": b["name"],
            "created": when(b["created_at_seconds"]),
        }
        for b in reply.get("bases", [])
        if not b["in_service"] and (b["ever_in_service"] or b["origin"] == "etablissement")
    ]
    rows.sort(key=lambda row: (row["liste"], row["created"]))
    emit(rows, as_json, title="Autres bases")


@app.command("open-base")
def open_base(
    ctx: typer.Context,
    base_id: Annotated[str, typer.Argument(help="From `console other-bases`.")],
    spr_login: SprLogin = "",
    spr_password: Annotated[
        str, password_option("SPR password: first time only.", SPR_PASSWORD_ENV)
    ] = "",
    password_stdin: PasswordStdin = False,
    uai: UaiOption = "",
    as_json: JsonOption = False,
) -> None:
    """Ouvrir cette base (server stopped first): it is put in service."""
    request = _in_service_request(uai, base_id, spr_login, spr_password, password_stdin)
    emit_base(to_dict(open_console(ctx).OpenBase(request)), as_json, title="base opened")


@app.command()
def history(ctx: typer.Context, uai: UaiOption = "", as_json: JsonOption = False) -> None:
    """Historique: every action on the server, oldest first."""
    reply = open_console(ctx).GetHistory(console_pb2.SchoolRef(uai=uai))
    rows = [to_dict(e) for e in reply.entries]
    if not as_json:
        rows = [
            {"date": when(e["at_seconds"]), "action": e["label"], "détail": e["detail"]}
            for e in rows
        ]
    emit(rows, as_json, title=f"Historique ({len(rows)} entries, {reply.limit} kept at most)")
