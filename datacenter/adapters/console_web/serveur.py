"""Serveur PRONOTE (seed 004 Fiches 2, 7, 10): bases and their counters, créer / charger /
compléter a base, récupérer les utilisateurs, EDT, autres bases, mettre en service, arrêter,
historique."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import BodyPartReader, web

from datacenter.adapters.console_web.pages import API, call, see_other, session_of
from datacenter.adapters.console_web.security import CSRF_FIELD, CSRF_HEADER
from datacenter.adapters.console_web.tabs import (
    done,
    form,
    in_service,
    optional,
    ref,
    tab,
    uai_of,
)
from protos import common_pb2, console_pb2

UPLOADS = {
    "load": "Charger une base (.HNOT)",
    "complete": "Compléter la base (fichiers annexes)",
    "users": "Récupérer les utilisateurs (.profils)",
    "edt": "Initialiser depuis EDT (.zip)",
}


async def serveur(request: web.Request) -> web.StreamResponse:
    bases, history = await asyncio.gather(
        call(request, "ListBases", ref(request)), optional(request, "GetHistory", ref(request))
    )
    return tab(
        request,
        "school/serveur.html",
        "serveur",
        bases=bases,
        base=in_service(bases),
        spr_defined=any(b.spr_login for b in bases.bases),
        history=list(reversed(history.entries)) if history else [],
        uploads=UPLOADS,
        serving=bases.server_state == common_pb2.SERVER_STATE_SERVING,
    )


async def _on_base(
    request: web.Request, method: str, message: Callable[[Any], Any], outcome: str
) -> web.StreamResponse:
    """The Serveur tab's form, `method` called with the message built from its fields, and
    the base's name with `outcome` said back."""
    data = await form(request, "serveur")
    base = await call(request, method, message(data))
    return done(request, f"{base.name} {outcome}")


async def create_base(request: web.Request) -> web.StreamResponse:
    def message(data: Any) -> console_pb2.CreateBaseRequest:
        return console_pb2.CreateBaseRequest(
            uai=uai_of(request),
            school_year=str(data.get("school_year", "")).strip(),
            synthetic_seed=str(data.get("synthetic_seed", "")).strip(),
        )

    return await _on_base(request, "CreateBase", message, "créée.")


async def put_in_service(request: web.Request) -> web.StreamResponse:
    def message(data: Any) -> console_pb2.PutBaseInServiceRequest:
        return console_pb2.PutBaseInServiceRequest(
            uai=uai_of(request),
            base_id=str(data.get("base_id", "")),
            spr_login=str(data.get("spr_login", "")).strip(),
            spr_password=str(data.get("spr_password", "")),
        )

    return await _on_base(request, "PutBaseInService", message, "est en service.")


async def open_base(request: web.Request) -> web.StreamResponse:
    def message(data: Any) -> console_pb2.PutBaseInServiceRequest:
        return console_pb2.PutBaseInServiceRequest(
            uai=uai_of(request), base_id=str(data.get("base_id"))
        )

    return await _on_base(request, "OpenBase", message, "est ouverte.")


async def stop_server(request: web.Request) -> web.StreamResponse:
    await form(request, "serveur")
    await call(request, "StopServer", ref(request))
    return done(request, "Le serveur est arrêté.")


async def upload(request: web.Request) -> web.StreamResponse:
    """Charger une base / compléter / utilisateurs / EDT: the multipart body is read part by
    part and streamed to the API's UploadBaseFile in chunks, never held whole in memory.
    The CSRF token comes in the X-CSRF-Token header (console.js) or as the first field."""
    request["back"] = f"/console/ecoles/{uai_of(request)}/serveur"
    session = session_of(request)
    reader = await request.multipart()
    given = request.headers.get(CSRF_HEADER, "")
    fields: dict[str, str] = {}
    while True:
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader):
            continue
        name = part.name or ""
        if name != "file":
            fields[name] = (await part.text())[:200]
            if name == CSRF_FIELD and not given:
                given = fields[CSRF_FIELD]
            continue
        if not session.csrf_ok(given):
            raise web.HTTPForbidden(text="Ce formulaire n'a pas de jeton CSRF valide.")
        operation = fields.get("operation", "load")
        first = common_pb2.BaseFileChunk(
            uai=uai_of(request),
            operation=operation,
            file_name=part.filename or "",
            base_id=fields.get("base_id", ""),
        )

        async def chunks(part: Any = part) -> Any:
            while True:
                piece = await part.read_chunk(256 * 1024)
                if not piece:
                    return
                yield piece

        reply = await request.app[API].upload(session.token, first, chunks())
        message = f"{UPLOADS.get(operation, operation)} : {reply.summary or reply.operation}"
        if request.headers.get(CSRF_HEADER):  # console.js: it follows the page itself
            session.flash("info", message)
            return web.json_response({"location": request["back"], "summary": reply.summary})
        return done(request, message)
    if not session.csrf_ok(given):
        raise web.HTTPForbidden(text="Ce formulaire n'a pas de jeton CSRF valide.")
    session.flash("error", "Choisissez un fichier à envoyer.")
    return see_other(str(request["back"]))


def add_routes(app: web.Application, school: str) -> None:
    app.router.add_get(school + "/serveur", serveur)
    app.router.add_post(school + "/serveur/creer-base", create_base)
    app.router.add_post(school + "/serveur/mettre-en-service", put_in_service)
    app.router.add_post(school + "/serveur/ouvrir", open_base)
    app.router.add_post(school + "/serveur/arreter", stop_server)
    app.router.add_post(school + "/serveur/fichier", upload)
