"""Files a school sends to its hosted server (seed 004 Fiches 5 and 7), and where they come
from:

- `pronote-dc hnot generate` plays the school's own Serveur PRONOTE ("Générer les fichiers
  pour l'hébergement": .HNOT, .HCOURRIERS, .HDOCJOINTS, .HPHOTOS, .profils);
  `pronote-dc hnot edt-zip` plays EDT's "Transfert assisté" (.zip);
- `pronote-dc console load-base | complete-base | recover-users | init-from-edt |
  other-bases | open-base | history`: the console's side.
"""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TextColumn

from common import edt_zip
from common.files import write_atomically
from datacenter.cli.console import JsonOption, UaiOption, _when, app, emit_base
from datacenter.cli.output import console, emit, errors, fail
from datacenter.cli.remote import open_console, to_dict
from datacenter.core.errors import DatacenterError
from datacenter.core.uai import validate_uai
from protos import common_pb2, console_pb2

hnot_app = typer.Typer(
    help="Play the school's own servers: generate the files for hosting and EDT's .zip."
)
CHUNK_BYTES = 1024 * 1024
UPLOAD_TIMEOUT_SECONDS = 900.0
ESPACES = edt_zip.ESPACES
BaseOption = Annotated[
    str, typer.Option("--base", help="Target base id (default: the base in service).")
]


def current_school_year(today: datetime.date | None = None) -> str:
    today = today or datetime.date.today()
    start = today.year if today.month >= 8 else today.year - 1
    return f"{start}-{start + 1}"


# -- the school's side ---------------------------------------------------------------------


@hnot_app.command()
def generate(
    uai: Annotated[str, typer.Option(help="The school's UAI.")],
    hosting_number: Annotated[str, typer.Option(help="N° d'hébergement the files are for.")],
    school_year: Annotated[str, typer.Option(help="e.g. 2026-2027 (default: this one).")] = "",
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder to write to.")] = Path(),
    password: Annotated[
        str, typer.Option(help="Every account's password in .profils (default: one each).")
    ] = "",
    professeurs: Annotated[int, typer.Option(help="Teacher accounts in .profils.", min=0)] = 5,
    documents: Annotated[int, typer.Option(help="Documents joints (.HDOCJOINTS).", min=0)] = 20,
    photos: Annotated[int, typer.Option(help="Photos (.HPHOTOS).", min=0)] = 20,
    courriers: Annotated[int, typer.Option(help="Courriers (.HCOURRIERS).", min=0)] = 10,
    item_kib: Annotated[int, typer.Option(help="Size of each annexe item, KiB.", min=1)] = 4,
    as_json: JsonOption = False,
) -> None:
    """Générer les fichiers pour l'hébergement, as the school's own Serveur PRONOTE does."""
    request = {
        "uai": _uai(uai),
        "hosting_number": hosting_number,
        "school_year": school_year or current_school_year(),
        "output_dir": str(output.resolve()),
        "password": password,
        "professeurs": professeurs,
        "documents": documents,
        "photos": photos,
        "courriers": courriers,
        "annexe_item_bytes": item_kib * 1024,
    }
    result = _run_local_server(request, as_json)
    if as_json:
        json.dump(result, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return
    emit(
        [{"file": Path(f["path"]).name, "bytes": f["size"]} for f in result["files"]],
        as_json=False,
        title=f"{result['base']} for hosting number {hosting_number}, in {output.resolve()}",
    )
    emit(result["accounts"], as_json=False, title="accounts in the .profils file")


def _run_local_server(request: dict[str, Any], quiet: bool) -> dict[str, Any]:
    process = subprocess.Popen(
        [sys.executable, "-m", "vm_agent.local_export"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(json.dumps(request))
    process.stdin.close()
    result: dict[str, Any] = {}
    progress = Progress(
        TextColumn("génération {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=errors,
        transient=quiet,
    )
    with progress:
        task = progress.add_task("", total=None)
        for line in process.stdout:
            message = json.loads(line)
            if "progress" in message:
                progress.update(
                    task,
                    description=message["progress"],
                    completed=message["done"],
                    total=message["total"],
                )
            elif "error" in message:
                process.wait()
                fail(message["error"])
            else:
                result = message["result"]
    if process.wait() != 0 or not result:
        fail("the local server could not generate the files")
    return result


@hnot_app.command("edt-zip")
def edt_zip_command(
    uai: Annotated[str, typer.Option(help="The school's UAI.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The .zip to write.")],
    school_year: Annotated[str, typer.Option(help="e.g. 2026-2027 (default: this one).")] = "",
    publish: Annotated[
        str,
        typer.Option(help=f"Espaces to publish, comma-separated ({', '.join(ESPACES)})."),
    ] = "direction,viescolaire",
    professeurs: Annotated[int, typer.Option(min=1)] = 35,
    classes: Annotated[int, typer.Option(min=1)] = 16,
    salles: Annotated[int, typer.Option(min=1)] = 38,
    eleves: Annotated[int, typer.Option(min=0)] = 422,
) -> None:
    """Vers PRONOTE > Transfert assisté: EDT's resources and timetable as a .zip."""
    data = edt_zip.build(
        _uai(uai),
        school_year or current_school_year(),
        _espace_choice(publish),
        professeurs=professeurs,
        classes=classes,
        salles=salles,
        eleves=eleves,
    )
    write_atomically(output, data)
    console.print(f"{output}: {len(data)} bytes (EDT transfer, espaces published: {publish})")


def _uai(text: str) -> str:
    try:
        return validate_uai(text)
    except DatacenterError as error:
        fail(str(error))


def _espace_choice(publish: str) -> dict[str, bool]:
    chosen = {name.strip() for name in publish.split(",") if name.strip()}
    unknown = sorted(chosen - set(ESPACES))
    if unknown:
        fail(f"unknown espaces {', '.join(unknown)}: choose among {', '.join(ESPACES)}")
    return {name: name in chosen for name in ESPACES}


# -- the console's side --------------------------------------------------------------------


def _upload(ctx: typer.Context, path: Path, first: common_pb2.BaseFileChunk) -> Any:
    try:
        size = path.stat().st_size
    except OSError as error:
        fail(f"cannot read {path}: {error.strerror}")
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
    choice = {} if publish is None else _espace_choice(publish)
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
            "created": _when(b["created_at_seconds"]),
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
    spr_login: Annotated[str, typer.Option(help="SPR login: first mise en service only.")] = "",
    spr_password: Annotated[str, typer.Option(help="SPR password: first time only.")] = "",
    uai: UaiOption = "",
    as_json: JsonOption = False,
) -> None:
    """Ouvrir cette base (server stopped first): it is put in service."""
    request = console_pb2.PutBaseInServiceRequest(
        uai=uai, base_id=base_id, spr_login=spr_login, spr_password=spr_password
    )
    emit_base(to_dict(open_console(ctx).OpenBase(request)), as_json, title="base opened")


@app.command()
def history(ctx: typer.Context, uai: UaiOption = "", as_json: JsonOption = False) -> None:
    """Historique: every action on the server, oldest first."""
    reply = open_console(ctx).GetHistory(console_pb2.SchoolRef(uai=uai))
    rows = [to_dict(e) for e in reply.entries]
    if not as_json:
        rows = [
            {"date": _when(e["at_seconds"]), "action": e["label"], "détail": e["detail"]}
            for e in rows
        ]
    emit(rows, as_json, title=f"Historique ({len(rows)} entries, {reply.limit} kept at most)")
