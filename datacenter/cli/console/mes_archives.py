"""`pronote-dc console mes-archives …`: the Sauvegardes tab and Mes archives (seed 004
Fiche 10)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated, Any

import typer

from common.files import write_atomically
from datacenter.cli.options import JsonOption, UaiOption, when
from datacenter.cli.output import console, emit, fail
from datacenter.cli.remote import open_console, to_dict
from protos import console_pb2

app = typer.Typer(
    help="Mes archives: sauvegardes every 2 h, daily archives, the July archive.",
    no_args_is_help=True,
)
KIND_LABELS = {"sauvegarde": "Sauvegarde", "archive": "Archive", "year_end": "Archive fin d'année"}


def _rows(ctx: typer.Context, uai: str, archives_only: bool, as_json: bool) -> list[Any]:
    reply = open_console(ctx).ListBackups(console_pb2.SchoolRef(uai=uai))
    rows = [to_dict(b) for b in reply.backups]
    if archives_only:
        rows = [b for b in rows if b["name"].endswith(".archs")]
    if as_json:
        return rows
    return [
        {
            "nom": b["name"],
            "type": KIND_LABELS.get(b["kind"], b["kind"]),
            "date": when(b["made_at_seconds"]),
            "taille": f"{(int(b['size']) + 1023) // 1024} Ko",
            "sha256": b["sha256"][:12],
        }
        for b in rows
    ]


@app.command()
def backups(ctx: typer.Context, uai: UaiOption = "", as_json: JsonOption = False) -> None:
    """Sauvegardes et archives: every 2 h, 12 kept; every day, 30 kept; the July archive."""
    rows = _rows(ctx, uai, archives_only=False, as_json=as_json)
    saves = sum(1 for r in rows if str(r.get("nom", r.get("name"))).endswith(".sauvs"))
    emit(rows, as_json, title=f"Sauvegardes ({saves}) et archives ({len(rows) - saves})")


@app.command()
def archives(ctx: typer.Context, uai: UaiOption = "", as_json: JsonOption = False) -> None:
    """Mes archives: the daily archives and the year-end archive."""
    emit(_rows(ctx, uai, archives_only=True, as_json=as_json), as_json, title="archives")


@app.command("open-backup")
def open_backup(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A name from `console backups`.")],
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: the bases are replaced.")] = False,
    uai: UaiOption = "",
) -> None:
    """Ouvrir cette archive: the server must be stopped; its checksum is verified first."""
    if not yes:
        fail(f"opening {name!r} replaces the school's bases: add --yes to confirm")
    request = console_pb2.OpenBackupRequest(uai=uai, name=name, confirm=True)
    reply = open_console(ctx).OpenBackup(request)
    console.print(
        f"{name} opened: {len(reply.bases)} base(s); put one in service with "
        "`pronote-dc console put-in-service <base id>`"
    )


@app.command("download-archive")
def download_archive(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="An archive name from `console archives`.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write.")],
    uai: UaiOption = "",
) -> None:
    """Télécharger cette archive (checked against its SHA-256 on both ends)."""
    reply = open_console(ctx).DownloadArchive(console_pb2.BackupRequest(uai=uai, name=name))
    if hashlib.sha256(reply.data).hexdigest() != reply.info.sha256:
        fail(f"{name} arrived damaged (SHA-256 mismatch); nothing written, try again")
    write_atomically(output, reply.data)
    console.print(
        f"{name}: {len(reply.data)} bytes written to {output}, SHA-256 {reply.info.sha256}"
    )
