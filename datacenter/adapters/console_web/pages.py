"""What every page of the web console shares: rendering, the session, the API call, and the
middlewares (security headers, sessions and CSRF, the API's refusals).

Pages are rendered on the server with Jinja2; htmx (vendored in static/, no CDN) refreshes the
live parts by polling. Every page asks the console gRPC API with the session's token
(`api.ConsoleApi`); a refusal is shown with the API's own message, and its gRPC status becomes
the page's HTTP status (PERMISSION_DENIED -> 403...). See docs/console-web.md.
"""

from __future__ import annotations

import datetime
from collections.abc import Awaitable, Callable
from typing import Any

import jinja2
from aiohttp import web

from datacenter.adapters.console_web.api import ConsoleApi, Refused
from datacenter.adapters.console_web.security import (
    COOKIE,
    COOKIE_PATH,
    CSRF_FIELD,
    CSRF_HEADER,
    SECURITY_HEADERS,
    LoginThrottle,
    WebSession,
    WebSessions,
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

API = web.AppKey("api", ConsoleApi)
SESSIONS = web.AppKey("sessions", WebSessions)
THROTTLE = web.AppKey("throttle", LoginThrottle)
TEMPLATES = web.AppKey("templates", jinja2.Environment)
OPTIONS = web.AppKey("options", dict)


def when(seconds: float) -> str:
    """A date as the console shows it, "13/07/23 15:43" (UTC, like the CLI)."""
    if not seconds:
        return ""
    moment = datetime.datetime.fromtimestamp(float(seconds), tz=datetime.UTC)
    return moment.strftime("%d/%m/%y %H:%M")


def kilobytes(size: int) -> str:
    return f"{max(1, round(size / 1024)) if size else 0} Ko"


def templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("datacenter.adapters.console_web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["ko"] = kilobytes
    return env


def session_of(request: web.Request) -> WebSession:
    session = request.get("session")
    assert isinstance(session, WebSession)
    return session


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    session = request.get("session")
    page = (
        request.app[TEMPLATES]
        .get_template(template)
        .render(
            session=session,
            csrf=session.csrf if session else "",
            flashes=session.take_flashes() if session and not template.startswith("_") else [],
            options=request.app[OPTIONS],
            **context,
        )
    )
    return web.Response(text=page, status=status, content_type="text/html")


def see_other(location: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(location)


def signed_out(request: web.Request, kind: str, message: str) -> web.HTTPSeeOther:
    """End this browser's session; the login page, with `message`, in a new anonymous one."""
    store = request.app[SESSIONS]
    old = request.get("session")
    if isinstance(old, WebSession):
        store.drop(old.id)
    fresh = store.new()
    fresh.flash(kind, message)
    request["session"] = fresh
    redirect = see_other("/console/")
    set_cookie(request, redirect, fresh)
    return redirect


def home_of(session: WebSession) -> str:
    if session.operator:
        return "/console/operateur/"
    return f"/console/ecoles/{session.uai}/accueil"


async def call(request: web.Request, method: str, message: Any) -> Any:
    """The console API's `method` with this browser's session token."""
    return await request.app[API].call(method, message, session_of(request).token)


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    headers = dict(SECURITY_HEADERS)
    if request.secure:  # served over TLS: browsers keep to HTTPS for this host
        headers["Strict-Transport-Security"] = "max-age=31536000"
    try:
        response = await handler(request)
    except web.HTTPException as error:
        error.headers.update(headers)
        raise
    response.headers.update(headers)
    return response


@web.middleware
async def sessions(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Attach the browser's session (a new anonymous one if it has none) and check, on every
    form sent (POST), its CSRF token; a multipart upload gives it in the X-CSRF-Token header
    or as its first field, checked by its handler."""
    if request.path.startswith("/console/static/"):
        return await handler(request)
    store = request.app[SESSIONS]
    session = store.get(request.cookies.get(COOKIE))
    fresh = session is None
    if session is None:
        session = store.new()
    request["session"] = session
    if request.method == "POST" and not _multipart(request):
        form = await request.post()
        given = str(form.get(CSRF_FIELD, "")) or request.headers.get(CSRF_HEADER, "")
        if not session.csrf_ok(given):
            return render(
                request,
                "error.html",
                status=403,
                title="Formulaire refusé",
                message="Ce formulaire n'a pas de jeton CSRF valide : rechargez la page et "
                "recommencez.",
            )
    response = await handler(request)
    current = request["session"]
    if fresh or current is not session:
        set_cookie(request, response, current)
    return response


def _multipart(request: web.Request) -> bool:
    return request.content_type.startswith("multipart/")


def set_cookie(request: web.Request, response: web.StreamResponse, session: WebSession) -> None:
    response.set_cookie(
        COOKIE,
        session.id,
        path=COOKIE_PATH,
        httponly=True,
        samesite="Strict",
        secure=request.secure,
    )


@web.middleware
async def refusals(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A refusal of the console API: an expired session goes back to the login page; a form's
    refusal is shown on the page it came from; a page's refusal is its HTTP status."""
    try:
        return await handler(request)
    except Refused as refused:
        session: WebSession | None = request.get("session")
        if refused.http_status == 401 and session is not None:
            if session.logged_in:
                return signed_out(request, "error", "Votre session a expiré : reconnectez-vous.")
            return signed_out(request, "info", "Connectez-vous.")
        back = request.get("back")
        if request.method == "POST" and back and refused.http_status not in (401, 403):
            session_of(request).flash("error", refused.message)
            return see_other(back)
        return render(
            request,
            "error.html",
            status=refused.http_status,
            title="Refusé" if refused.http_status == 403 else "Erreur",
            message=refused.message,
        )
