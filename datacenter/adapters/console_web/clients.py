"""Clients (seed 004 Fiches 3, 11): client parameters, licences and their reservation, suivi
des connexions with Déconnecter, suspended IPs with Débloquer (live)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from datacenter.adapters.console_web.pages import call, see_other, session_of
from datacenter.adapters.console_web.tabs import done, form, ref, tab, uai_of
from protos import console_pb2


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


def add_routes(app: web.Application, school: str) -> None:
    app.router.add_get(school + "/clients", clients)
    app.router.add_get(school + "/clients/direct", clients_live)
    app.router.add_post(school + "/clients/reserver", reserve)
    app.router.add_post(school + "/clients/deconnecter", disconnect)
    app.router.add_post(school + "/clients/debloquer", unblock)
