"""Login pages: a school's responsable (seed 004 Fiche 1: Numéro d'hébergement, Mot de passe
hébergement, Dernier n° facture hébergement the first time) and the operator (its token)."""

from __future__ import annotations

import math

from aiohttp import web

from datacenter.adapters.console_web.api import Refused
from datacenter.adapters.console_web.pages import (
    API,
    SESSIONS,
    THROTTLE,
    home_of,
    render,
    see_other,
    session_of,
    set_cookie,
    signed_out,
)
from protos import console_pb2


async def index(request: web.Request) -> web.StreamResponse:
    session = session_of(request)
    if session.logged_in:
        return see_other(home_of(session))
    return render(request, "login.html")


async def operator_page(request: web.Request) -> web.StreamResponse:
    return render(request, "operator_login.html")


def _throttled(request: web.Request, template: str) -> web.Response | None:
    wait = request.app[THROTTLE].retry_after(request.remote or "")
    if not wait:
        return None
    minutes = math.ceil(wait / 60)
    return render(
        request,
        template,
        status=429,
        error=f"Trop de tentatives de connexion erronées depuis votre adresse : elle est "
        f"suspendue, réessayez dans {minutes} min.",
    )


def _logged_in(request: web.Request, token: str, uai: str, operator: bool) -> web.StreamResponse:
    session = session_of(request)
    logged = request.app[SESSIONS].log_in(session, token, uai, operator)
    request["session"] = logged
    response = see_other(home_of(logged))
    set_cookie(request, response, logged)
    return response


async def school_login(request: web.Request) -> web.StreamResponse:
    """Throttled by the API itself, on the browser's address (the CLI's rule, one count)."""
    form = await request.post()
    hosting_number = str(form.get("hosting_number", "")).strip()
    invoice_number = str(form.get("invoice_number", "")).strip()
    try:
        reply = await request.app[API].call(
            "Login",
            console_pb2.LoginRequest(
                hosting_number=hosting_number,
                password=str(form.get("password", "")),
                invoice_number=invoice_number,
            ),
            forwarded_for=request.remote or "",
        )
    except Refused as refused:
        if refused.http_status not in (401, 403):
            raise
        return render(
            request,
            "login.html",
            status=401 if refused.http_status == 401 else 429,  # 403: this address is suspended
            error=refused.message,
            hosting_number=hosting_number,
        )
    return _logged_in(request, reply.token, reply.uai, operator=False)


async def operator_login(request: web.Request) -> web.StreamResponse:
    """The operator's token (the `operator.token` file beside the registry), checked by asking
    the API for the fleet: a school's token is refused there."""
    throttled = _throttled(request, "operator_login.html")
    if throttled is not None:
        return throttled
    form = await request.post()
    token = str(form.get("token", "")).strip()
    try:
        await request.app[API].call("ListSchools", console_pb2.ListSchoolsRequest(), token)
    except Refused as refused:
        if refused.http_status not in (401, 403):
            raise
        request.app[THROTTLE].failed(request.remote or "")
        return render(request, "operator_login.html", status=401, error=refused.message)
    request.app[THROTTLE].succeeded(request.remote or "")
    return _logged_in(request, token, "", operator=True)


async def logout(request: web.Request) -> web.StreamResponse:
    return signed_out(request, "info", "Vous êtes déconnecté.")


async def resend(request: web.Request) -> web.StreamResponse:
    """ "Recevoir mon n° de facture": the API's ResendCredentials without a token (client number
    and UAI): the hosting and invoice numbers by e-mail, a new password by SMS."""
    form = await request.post()
    request["back"] = "/console/"
    reply = await request.app[API].call(
        "ResendCredentials",
        console_pb2.ResendCredentialsRequest(
            uai=str(form.get("uai", "")).strip().upper(),
            client_number=str(form.get("client_number", "")).strip(),
        ),
    )
    session_of(request).flash(
        "info",
        f"Votre n° d'hébergement et votre n° de facture ont été envoyés à {reply.email}, "
        f"un nouveau mot de passe par SMS au {reply.mobile}.",
    )
    return see_other("/console/")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", index)
    app.router.add_post("/connexion", school_login)
    app.router.add_get("/operateur/connexion", operator_page)
    app.router.add_post("/operateur/connexion", operator_login)
    app.router.add_post("/deconnexion", logout)
    app.router.add_post("/recevoir-facture", resend)
