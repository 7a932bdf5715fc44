"""Accueil: the school's server state, base in service, licence expiry and alerts (live)."""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

from aiohttp import web

from datacenter.adapters.console_web.pages import call
from datacenter.adapters.console_web.tabs import in_service, optional, ref, tab
from protos import common_pb2, console_pb2


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


def add_routes(app: web.Application, school: str) -> None:
    app.router.add_get(school + "/accueil", accueil)
    app.router.add_get(school + "/accueil/etat", accueil_state)
