"""A school's console (seed 004): Accueil, Serveur PRONOTE, Clients, PRONOTE.net, Mes archives
and Mon compte, at /console/ecoles/<UAI>/<tab>. The operator may open any school's; a school's
session only its own (the API answers PERMISSION_DENIED, shown as 403)."""

from __future__ import annotations

import asyncio
import base64
import datetime
import hashlib
from typing import Any

from aiohttp import BodyPartReader, web

from datacenter.adapters.console_web.api import Refused
from datacenter.adapters.console_web.app import API, call, render, see_other, session_of
from datacenter.adapters.console_web.security import CSRF_FIELD, CSRF_HEADER
from protos import common_pb2, console_pb2

MODES = {
    common_pb2.MODE_ADMINISTRATIF: "Administratif",
    common_pb2.MODE_ENSEIGNANT: "Enseignant",
    common_pb2.MODE_VIE_SCOLAIRE: "Vie scolaire",
    common_pb2.MODE_EDT: "EDT",
}
FORMULAS = {
    console_pb2.FORMULA_30: "30 Profs",
    console_pb2.FORMULA_50: "50 Profs",
    console_pb2.FORMULA_80: "80 Profs",
    console_pb2.FORMULA_UNLIMITED: "Illimitée",
}
COUNTERS = {
    "Ressources": [
        ("professeurs", "professeurs"), ("matieres", "matières"), ("classes", "classes"),
        ("groupes", "groupes"), ("eleves", "élèves"), ("salles", "salles"),
    ],
    "Scolarité": [
        ("devoirs", "devoirs"), ("notes", "notes"), ("cahiers_de_textes", "cahiers de textes"),
        ("appreciations", "appréciations"), ("documents_joints", "doc. joints"),
        ("evaluations", "évaluations"),
    ],
    "Vie scolaire": [
        ("sanctions", "sanctions"), ("punitions", "punitions"), ("absences", "absences"),
        ("retards", "retards"), ("suivis", "suivis"),
    ],
}  # fmt: skip
UPLOADS = {
    "load": "Charger une base (.HNOT)",
    "complete": "Compléter la base (fichiers annexes)",
    "users": "Récupérer les utilisateurs (.profils)",
    "edt": "Initialiser depuis EDT (.zip)",
}
DOWNLOAD_CHUNK_BYTES = 64 * 1024
TABS = [
    ("accueil", "Accueil"),
    ("serveur", "Serveur PRONOTE"),
    ("clients", "Clients"),
    ("pronote-net", "PRONOTE.net"),
    ("archives", "Mes archives"),
    ("compte", "Mon compte"),
]


def uai_of(request: web.Request) -> str:
    return request.match_info["uai"].upper()


def ref(request: web.Request) -> console_pb2.SchoolRef:
    return console_pb2.SchoolRef(uai=uai_of(request))


def tab(request: web.Request, template: str, current: str, **context: Any) -> web.Response:
    return render(
        request,
        template,
        uai=uai_of(request),
        tabs=TABS,
        current=current,
        modes=MODES,
        formulas=FORMULAS,
        counters=COUNTERS,
        **context,
    )


async def form(request: web.Request, back: str) -> Any:
    """The form sent, once `back` (this school's tab) is where a refusal will be shown."""
    request["back"] = f"/console/ecoles/{uai_of(request)}/{back}"
    return await request.post()


def done(request: web.Request, message: str) -> web.HTTPSeeOther:
    session_of(request).flash("info", message)
    return see_other(str(request["back"]))


async def optional(request: web.Request, method: str, message: Any) -> Any:
    """A call whose refusal (a server restarting, no order yet) leaves its part of the page
    empty instead of failing the whole page; scoping refusals still fail it."""
    try:
        return await call(request, method, message)
    except Refused as refused:
        if refused.http_status in (401, 403):
            raise
        return None


def in_service(bases: Any) -> Any:
    return next((b for b in bases.bases if b.in_service), None) if bases else None


# -- Accueil ---------------------------------------------------------------------------------


async def _home_state(request: web.Request) -> dict[str, Any]:
    school = await call(request, "GetSchool", ref(request))
    bases, account, licences, suspended, clock = await asyncio.gather(
        optional(request, "ListBases", ref(request)),
        optional(request, "GetAccount", ref(request)),
        optional(request, "GetLicences", ref(request)),
        optional(request, "ListSuspendedIps", ref(request)),
        optional(request, "GetClock", console_pb2.ClockRequest()),
    )
    base = in_service(bases)
    alerts = []
    if bases is None:
        alerts.append("Le Serveur PRONOTE ne répond pas : il redémarre.")
    elif bases.server_state != common_pb2.SERVER_STATE_SERVING:
        alerts.append("Le serveur est arrêté : aucune connexion n'est possible.")
    if bases is not None and base is None:
        alerts.append("Aucune base en service : mettez-en une en service (Serveur PRONOTE).")
    if suspended is not None and suspended.suspended_ips:
        alerts.append(f"{len(suspended.suspended_ips)} adresse(s) IP suspendue(s) (Clients).")
    if licences is not None and licences.administratif_in_use >= licences.administratif_capacity:
        alerts.append("Toutes les licences en modification sont utilisées.")
    if school.pronote_net == "stopped":
        alerts.append("La publication PRONOTE.net est arrêtée.")
    today = ""
    if clock is not None:
        moment = datetime.datetime.fromtimestamp(clock.now_seconds, tz=datetime.UTC)
        today = moment.date().isoformat()
    expires = account.licence_expires_on if account is not None else ""
    if expires and today and expires < today:
        alerts.append(f"Votre licence d'hébergement a expiré le {expires}.")
    return {
        "school": school,
        "bases": bases,
        "base": base,
        "account": account,
        "licences": licences,
        "alerts": alerts,
    }


async def accueil(request: web.Request) -> web.StreamResponse:
    return tab(request, "school/accueil.html", "accueil", **await _home_state(request))


async def accueil_state(request: web.Request) -> web.StreamResponse:
    return tab(request, "school/_accueil_state.html", "accueil", **await _home_state(request))


# -- Serveur PRONOTE -------------------------------------------------------------------------


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


async def create_base(request: web.Request) -> web.StreamResponse:
    data = await form(request, "serveur")
    base = await call(
        request,
        "CreateBase",
        console_pb2.CreateBaseRequest(
            uai=uai_of(request),
            school_year=str(data.get("school_year", "")).strip(),
            synthetic_seed=str(data.get("synthetic_seed", "")).strip(),
        ),
    )
    return done(request, f"{base.name} créée.")


async def put_in_service(request: web.Request) -> web.StreamResponse:
    data = await form(request, "serveur")
    base = await call(
        request,
        "PutBaseInService",
        console_pb2.PutBaseInServiceRequest(
            uai=uai_of(request),
            base_id=str(data.get("base_id", "")),
            spr_login=str(data.get("spr_login", "")).strip(),
            spr_password=str(data.get("spr_password", "")),
        ),
    )
    return done(request, f"{base.name} est en service.")


async def open_base(request: web.Request) -> web.StreamResponse:
    data = await form(request, "serveur")
    base = await call(
        request,
        "OpenBase",
        console_pb2.PutBaseInServiceRequest(uai=uai_of(request), base_id=str(data.get("base_id"))),
    )
    return done(request, f"{base.name} est ouverte.")


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


# -- Clients ---------------------------------------------------------------------------------


async def _clients_live(request: web.Request) -> dict[str, Any]:
    licences, connections, suspended = await asyncio.gather(
        call(request, "GetLicences", ref(request)),
        call(request, "ListConnections", ref(request)),
        call(request, "ListSuspendedIps", ref(request)),
    )
    return {"licences": licences, "connections": connections, "suspended": suspended}


async def clients(request: web.Request) -> web.StreamResponse:
    live, parameters = await asyncio.gather(
        _clients_live(request), call(request, "GetClientParameters", ref(request))
    )
    return tab(request, "school/clients.html", "clients", parameters=parameters, **live)


async def clients_live(request: web.Request) -> web.StreamResponse:
    return tab(request, "school/_clients_live.html", "clients", **await _clients_live(request))


async def reserve(request: web.Request) -> web.StreamResponse:
    data = await form(request, "clients")
    try:
        count = int(str(data.get("count", "")))
    except ValueError:
        session_of(request).flash("error", "Le nombre de licences réservées est un entier.")
        return see_other(str(request["back"]))
    usage = await call(
        request,
        "SetReservedLicences",
        console_pb2.SetReservedLicencesRequest(uai=uai_of(request), count=count),
    )
    return done(
        request,
        f"{usage.reserved_for_administration} licence(s) réservée(s) pour les administrateurs.",
    )


async def disconnect(request: web.Request) -> web.StreamResponse:
    data = await form(request, "clients")
    await call(
        request,
        "DisconnectClient",
        console_pb2.DisconnectClientRequest(
            uai=uai_of(request), session_id=str(data.get("session_id", ""))
        ),
    )
    return done(request, "Le client est déconnecté.")


async def unblock(request: web.Request) -> web.StreamResponse:
    data = await form(request, "clients")
    ip = str(data.get("ip", "")).strip()
    reply = await call(
        request,
        "UnblockIps",
        console_pb2.UnblockIpsRequest(uai=uai_of(request), ip=ip, all=not ip),
    )
    return done(request, f"{reply.unblocked} adresse(s) IP débloquée(s).")


# -- Mes archives ----------------------------------------------------------------------------


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


def add_routes(app: web.Application) -> None:
    from datacenter.adapters.console_web import account, pronote_net

    school = "/ecoles/{uai}"
    app.router.add_get(school + "/", _to_home)
    app.router.add_get(school + "/accueil", accueil)
    app.router.add_get(school + "/accueil/etat", accueil_state)
    app.router.add_get(school + "/serveur", serveur)
    app.router.add_post(school + "/serveur/creer-base", create_base)
    app.router.add_post(school + "/serveur/mettre-en-service", put_in_service)
    app.router.add_post(school + "/serveur/ouvrir", open_base)
    app.router.add_post(school + "/serveur/arreter", stop_server)
    app.router.add_post(school + "/serveur/fichier", upload)
    app.router.add_get(school + "/clients", clients)
    app.router.add_get(school + "/clients/direct", clients_live)
    app.router.add_post(school + "/clients/reserver", reserve)
    app.router.add_post(school + "/clients/deconnecter", disconnect)
    app.router.add_post(school + "/clients/debloquer", unblock)
    app.router.add_get(school + "/archives", archives)
    app.router.add_post(school + "/archives/ouvrir", open_backup)
    app.router.add_get(school + "/archives/{name}/telecharger", download)
    pronote_net.add_routes(app, school)
    account.add_routes(app, school)


async def _to_home(request: web.Request) -> web.StreamResponse:
    return see_other(f"/console/ecoles/{uai_of(request)}/accueil")
