"""Mes archives (seed 004 Fiche 10): sauvegardes and archives, Ouvrir cette archive after
confirmation, Télécharger cette archive (streamed)."""

from __future__ import annotations

import base64
import hashlib

from aiohttp import web

from datacenter.adapters.console_web.pages import call
from datacenter.adapters.console_web.tabs import done, form, ref, tab, uai_of
from protos import console_pb2

DOWNLOAD_CHUNK_BYTES = 64 * 1024


async def archives(request: web.Request) -> web.StreamResponse:
    backups = await call(request, "ListBackups", ref(request))
    return tab(request, "school/archives.html", "archives", backups=backups.backups)


async def open_backup(request: web.Request) -> web.StreamResponse:
    data = await form(request, "archives")
    await call(
        request,
        "OpenBackup",
        console_pb2.OpenBackupRequest(
            uai=uai_of(request),
            name=str(data.get("name", "")),
            confirm=data.get("confirm") == "oui",
        ),
    )
    return done(request, f"{data.get('name')} est ouverte : mettez la base en service.")


async def download(request: web.Request) -> web.StreamResponse:
    """Télécharger cette archive: the API's verified bytes, streamed to the browser with their
    SHA-256 in `Repr-Digest` (RFC 9530)."""
    name = request.match_info["name"]
    content = await call(
        request, "DownloadArchive", console_pb2.BackupRequest(uai=uai_of(request), name=name)
    )
    digest = base64.b64encode(hashlib.sha256(content.data).digest()).decode()
    response = web.StreamResponse(
        headers={
            "Content-Type": "application/octet-stream",
            "Content-Disposition": f'attachment; filename="{content.info.name}"',
            "Content-Length": str(len(content.data)),
            "Repr-Digest": f"sha-256=:{digest}:",
        }
    )
    await response.prepare(request)
    view = memoryview(content.data)
    for start in range(0, len(view), DOWNLOAD_CHUNK_BYTES):
        await response.write(view[start : start + DOWNLOAD_CHUNK_BYTES])
    await response.write_eof()
    return response


def add_routes(app: web.Application, school: str) -> None:
    app.router.add_get(school + "/archives", archives)
    app.router.add_post(school + "/archives/ouvrir", open_backup)
    app.router.add_get(school + "/archives/{name}/telecharger", download)
