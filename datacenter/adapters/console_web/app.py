"""The web console's aiohttp application, mounted at `/console/` on the controller's HTTP port:
the login pages, a school's tabs (one module each) and the operator's pages.

Pages are rendered on the server with Jinja2; htmx (vendored in static/, no CDN) refreshes the
live parts by polling. Every page asks the console gRPC API with the session's token
(`api.ConsoleApi`); see docs/console-web.md.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from datacenter.adapters.console_web import (
    account,
    accueil,
    archives,
    clients,
    login,
    operator,
    pronote_net,
    serveur,
)
from datacenter.adapters.console_web.api import ConsoleApi
from datacenter.adapters.console_web.pages import (
    API,
    OPTIONS,
    SESSIONS,
    TEMPLATES,
    THROTTLE,
    refusals,
    security_headers,
    see_other,
    sessions,
    templates,
)
from datacenter.adapters.console_web.security import LoginThrottle, WebSessions
from datacenter.adapters.console_web.tabs import uai_of

SCHOOL = "/ecoles/{uai}"


def console_web_app(
    console_address: Callable[[], str],
    *,
    session_seconds: float,
    maxretry: int,
    findtime_seconds: float,
    bantime_seconds: float,
    grafana_url: str = "",
    front_end_token: str = "",
) -> web.Application:
    """The web console as an aiohttp sub-application for `app.add_subapp("/console/", ...)`.

    `console_address()` is the console gRPC API's `host:port`; a school's login is throttled by
    the API on the browser's address, named with `front_end_token` (`ConsoleAuth`'s); the
    fail2ban figures throttle the operator's token form per source address; `grafana_url`
    (may be empty) adds a dashboard link per school.
    """
    app = web.Application(
        middlewares=[security_headers, sessions, refusals, operator.operator_only]
    )
    app[API] = ConsoleApi(console_address, front_end_token)
    app[SESSIONS] = WebSessions(session_seconds)
    app[THROTTLE] = LoginThrottle(maxretry, findtime_seconds, bantime_seconds)
    app[TEMPLATES] = templates()
    app[OPTIONS] = {"grafana_url": grafana_url.rstrip("/")}
    login.add_routes(app)
    operator.add_routes(app)
    app.router.add_get(SCHOOL + "/", _to_home)
    for tab in (accueil, serveur, clients, pronote_net, archives, account):
        tab.add_routes(app, SCHOOL)
    app.router.add_static("/static/", Path(__file__).parent / "static", append_version=False)

    async def close_api(app: web.Application) -> None:
        await app[API].close()

    app.on_cleanup.append(close_api)
    return app


async def _to_home(request: web.Request) -> web.StreamResponse:
    return see_other(f"/console/ecoles/{uai_of(request)}/accueil")
