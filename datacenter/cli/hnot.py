"""`pronote-dc hnot …`: files a school sends to its hosted server (seed 004 Fiches 5 and
7), and where they come from:

- `pronote-dc hnot generate` plays the school's own Serveur PRONOTE ("Générer les fichiers
  pour l'hébergement": .HNOT, .HCOURRIERS, .HDOCJOINTS, .HPHOTOS, .profils);
  `pronote-dc hnot edt-zip` plays EDT's "Transfert assisté" (.zip);
- the console's side is `pronote-dc console serveur load-base | complete-base |
  recover-users | init-from-edt | other-bases | open-base | history`
  (datacenter/cli/console/serveur.py).
"""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from common import edt_zip
from common.files import write_atomically
from datacenter.cli.options import JsonOption
from datacenter.cli.output import console, emit, errors, fail
from datacenter.core.errors import DatacenterError
from datacenter.core.uai import validate_uai

hnot_app = typer.Typer(
    help="Play the school's own servers: generate the files for hosting and EDT's .zip."
)
ESPACES = edt_zip.ESPACES


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
        espace_choice(publish),
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


def espace_choice(publish: str) -> dict[str, bool]:
    chosen = {name.strip() for name in publish.split(",") if name.strip()}
    unknown = sorted(chosen - set(ESPACES))
    if unknown:
        fail(f"unknown espaces {', '.join(unknown)}: choose among {', '.join(ESPACES)}")
    return {name: name in chosen for name in ESPACES}
