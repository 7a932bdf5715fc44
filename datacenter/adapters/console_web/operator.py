"""The operator's pages at /console/operateur/: the fleet (live), provision and remove a
school, orders (proforma, accept, activate) and the outbox, the clock. Each page asks an
operator-only call of the API first, so a school's session gets its PERMISSION_DENIED (403)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from aiohttp import web

from datacenter.adapters.console_web.api import Refused
from datacenter.adapters.console_web.pages import call, render, see_other, session_of
from datacenter.adapters.wire import FORMULA_TO_PROTO
from datacenter.core.errors import InvalidArgument
from datacenter.core.scheduler import parse_date
from protos import console_pb2

PAGE_ROWS = 100
FLEET = "/console/operateur/"


def page(request: web.Request, template: str, current: str, **context: Any) -> web.Response:
    return render(request, template, current=current, **context)


async def _fleet(request: web.Request) -> dict[str, Any]:
    schools = list((await call(request, "ListSchools", console_pb2.ListSchoolsRequest())).schools)
    schools.sort(key=lambda school: school.uai)
    try:
        number = max(1, int(request.query.get("page", "1")))
    except ValueError:
        number = 1
    pages = max(1, -(-len(schools) // PAGE_ROWS))
    number = min(number, pages)
    return {
        "schools": schools[(number - 1) * PAGE_ROWS : number * PAGE_ROWS],
        "total": len(schools),
        "states": sorted(Counter(school.state for school in schools).items()),
        "page_number": number,
        "pages": pages,
    }


async def fleet(request: web.Request) -> web.StreamResponse:
    return page(request, "operator/fleet.html", "parc", **await _fleet(request))


async def fleet_live(request: web.Request) -> web.StreamResponse:
    return page(request, "operator/_fleet.html", "parc", **await _fleet(request))


async def school_summary(request: web.Request) -> web.StreamResponse:
    """One fleet row's base en service and licences in use, asked of the school when the row
    is shown (a fleet of 1000 costs two calls per visible school, not per school)."""
    uai_ref = console_pb2.SchoolRef(uai=request.match_info["uai"].upper())
    try:
        bases, licences = await asyncio.gather(
            call(request, "ListBases", uai_ref), call(request, "GetLicences", uai_ref)
        )
    except Refused as refused:
        if refused.http_status in (401, 403):
            raise
        bases = licences = None
    base = next((b for b in bases.bases if b.in_service), None) if bases else None
    return page(
        request, "operator/_summary.html", "parc", base=base, licences=licences, bases=bases
    )


async def provision(request: web.Request) -> web.StreamResponse:
    request["back"] = FLEET
    data = await request.post()
    formula = str(data.get("formula", "30"))
    if formula not in FORMULA_TO_PROTO:
        session_of(request).flash("error", "Choisissez une formule : 30, 50, 80 ou unlimited.")
        return see_other(FLEET)
    provisioned = await call(
        request,
        "ProvisionSchool",
        console_pb2.ProvisionSchoolRequest(
            uai=str(data.get("uai", "")).strip().upper(),
            name=str(data.get("name", "")).strip(),
            formula=FORMULA_TO_PROTO[formula],
            responsable=console_pb2.Responsable(
                name=str(data.get("responsable", "")).strip(),
                mobile=str(data.get("mobile", "")).strip(),
                email=str(data.get("email", "")).strip(),
            ),
            demo=data.get("demo") == "oui",
        ),
    )
    school = provisioned.school
    session_of(request).flash(
        "secret",
        f"{school.uai} {school.name} est en service sur {school.address}. N° d'hébergement "
        f"{school.hosting_number}, n° de facture {school.invoice_number}, mot de passe "
        f"hébergement {provisioned.console_password} (affiché une seule fois).",
    )
    return see_other(FLEET)


async def deprovision(request: web.Request) -> web.StreamResponse:
    request["back"] = FLEET
    await request.post()
    uai = request.match_info["uai"].upper()
    await call(request, "DeprovisionSchool", console_pb2.SchoolRef(uai=uai))
    session_of(request).flash("info", f"{uai} est supprimée du data-center.")
    return see_other(FLEET)


# -- orders and outbox -----------------------------------------------------------------------


async def orders(request: web.Request) -> web.StreamResponse:
    listed = await call(request, "ListOrders", console_pb2.ListOrdersRequest())
    return page(
        request,
        "operator/orders.html",
        "commandes",
        orders=sorted(listed.orders, key=lambda detail: -detail.order.id),
        formulas=list(FORMULA_TO_PROTO),
    )


async def place_order(request: web.Request) -> web.StreamResponse:
    request["back"] = "/console/operateur/commandes"
    data = await request.post()
    formula = str(data.get("formula", "50"))
    detail = await call(
        request,
        "PlaceOrder",
        console_pb2.PlaceOrderRequest(
            client_number=str(data.get("client_number", "")).strip(),
            uai=str(data.get("uai", "")).strip().upper(),
            name=str(data.get("name", "")).strip(),
            formula=FORMULA_TO_PROTO.get(formula, console_pb2.FORMULA_UNSPECIFIED),
            responsable=console_pb2.Responsable(
                name=str(data.get("responsable", "")).strip(),
                mobile=str(data.get("mobile", "")).strip(),
                email=str(data.get("email", "")).strip(),
            ),
            contract_accepted=data.get("contract") == "oui",
        ),
    )
    session_of(request).flash(
        "info", f"Commande {detail.order.id} : proforma {detail.proforma.number} envoyée."
    )
    return see_other("/console/operateur/commandes")


async def order_action(request: web.Request) -> web.StreamResponse:
    request["back"] = "/console/operateur/commandes"
    await request.post()
    action = request.match_info["action"]
    order_ref = console_pb2.OrderRef(id=int(request.match_info["id"]))
    if action == "accepter":
        await call(request, "AcceptProforma", order_ref)
        session_of(request).flash("info", f"Proforma de la commande {order_ref.id} acceptée.")
    else:
        activated = await call(request, "ActivateOrder", order_ref)
        session_of(request).flash(
            "info",
            f"Commande {order_ref.id} activée : {activated.school.uai} en service sur "
            f"{activated.school.address}; identifiants envoyés (messages).",
        )
    return see_other("/console/operateur/commandes")


async def outbox(request: web.Request) -> web.StreamResponse:
    listed = await call(request, "ListOutbox", console_pb2.OutboxRequest())
    return page(
        request,
        "operator/outbox.html",
        "messages",
        messages=sorted(listed.messages, key=lambda message: -message.id),
    )


# -- the clock -------------------------------------------------------------------------------


async def clock(request: web.Request) -> web.StreamResponse:
    reply = await call(request, "GetClock", console_pb2.ClockRequest())
    return page(request, "operator/clock.html", "horloge", clock=reply)


async def advance(request: web.Request) -> web.StreamResponse:
    request["back"] = "/console/operateur/horloge"
    data = await request.post()
    try:
        to_seconds = parse_date(str(data.get("to", "")).strip())
    except InvalidArgument as error:
        session_of(request).flash("error", str(error))
        return see_other(request["back"])
    reply = await call(
        request, "AdvanceClock", console_pb2.AdvanceClockRequest(to_seconds=to_seconds)
    )
    session_of(request).flash(
        "info",
        f"Horloge avancée : {reply.backups_due} sauvegarde(s), {reply.archives_due} archive(s), "
        f"{reply.files_written} fichier(s) écrits pour {reply.schools} établissement(s).",
    )
    return see_other(request["back"])


@web.middleware
async def operator_only(request: web.Request, handler: Any) -> web.StreamResponse:
    """/console/operateur/ pages are for the operator's session: a school's gets 403 before any
    call (the API would refuse each operator call anyway; this also covers the per-row
    summaries, whose calls a school may make for its own UAI)."""
    path = request.path
    if path.startswith("/console/operateur/") and path != "/console/operateur/connexion":
        session = session_of(request)
        if not session.logged_in:
            return see_other("/console/operateur/connexion")
        if not session.operator:
            return render(
                request,
                "error.html",
                status=403,
                title="Refusé",
                message="Cette page est réservée à l'opérateur du data-center.",
            )
    return await handler(request)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/operateur/", fleet)
    app.router.add_get("/operateur/parc", fleet_live)
    app.router.add_get("/operateur/ecoles/{uai}/resume", school_summary)
    app.router.add_post("/operateur/ecoles", provision)
    app.router.add_post("/operateur/ecoles/{uai}/supprimer", deprovision)
    app.router.add_get("/operateur/commandes", orders)
    app.router.add_post("/operateur/commandes", place_order)
    app.router.add_post(r"/operateur/commandes/{id:\d+}/{action:accepter|activer}", order_action)
    app.router.add_get("/operateur/messages", outbox)
    app.router.add_get("/operateur/horloge", clock)
    app.router.add_post("/operateur/horloge", advance)
