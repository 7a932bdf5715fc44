"""Mon compte (seed 004 Fiche 12, seed 000): the hosting licence and its renewal, "Recevoir
mes identifiants", and the yearly cycle: pré-version, the August switch and its deferral."""

from __future__ import annotations

import asyncio

from aiohttp import web

from datacenter.adapters.console_web.pages import call, session_of, signed_out
from datacenter.adapters.console_web.tabs import (
    done,
    form,
    optional,
    ref,
    tab,
    uai_of,
)
from protos import console_pb2


async def compte(request: web.Request) -> web.StreamResponse:
    operator = session_of(request).operator  # the orders list is the operator's (seed 000)
    account, change, orders = await asyncio.gather(
        call(request, "GetAccount", ref(request)),
        optional(request, "GetVersionChange", ref(request)),
        optional(request, "ListOrders", console_pb2.ListOrdersRequest(uai=uai_of(request)))
        if operator
        else asyncio.sleep(0),
    )
    return tab(
        request,
        "school/compte.html",
        "compte",
        account=account,
        change=change,
        orders=orders.orders if orders else [],
    )


async def renew(request: web.Request) -> web.StreamResponse:
    await form(request, "compte")
    detail = await call(request, "RenewLicence", ref(request))
    proforma = detail.proforma
    return done(
        request,
        f"Proforma de renouvellement n° {proforma.number} : {proforma.amount_ttc} € TTC, "
        f"valable jusqu'au {proforma.valid_until}.",
    )


async def resend(request: web.Request) -> web.StreamResponse:
    await form(request, "compte")
    reply = await call(
        request, "ResendCredentials", console_pb2.ResendCredentialsRequest(uai=uai_of(request))
    )
    message = (
        f"N° d'hébergement et n° de facture envoyés à {reply.email} ; nouveau mot de passe "
        f"envoyé par SMS au {reply.mobile}."
    )
    if session_of(request).operator:
        return done(request, message)
    # The school's old password and console logins no longer work: log in with the new one.
    return signed_out(request, "info", message + " Reconnectez-vous avec ce mot de passe.")


async def preversion(request: web.Request) -> web.StreamResponse:
    await form(request, "compte")
    change = await call(request, "RequestPreversion", ref(request))
    return done(request, f"Pré-version demandée : {change.choice}.")


async def defer(request: web.Request) -> web.StreamResponse:
    data = await form(request, "compte")
    change = await call(
        request,
        "DeferSwitch",
        console_pb2.DeferSwitchRequest(
            uai=uai_of(request),
            date=str(data.get("date", "")),
            keep_base_in_service=data.get("keep") == "oui",
        ),
    )
    return done(request, f"Installation différée au {change.switch_on}.")


def add_routes(app: web.Application, school: str) -> None:
    app.router.add_get(school + "/compte", compte)
    app.router.add_post(school + "/compte/renouveler", renew)
    app.router.add_post(school + "/compte/identifiants", resend)
    app.router.add_post(school + "/compte/preversion", preversion)
    app.router.add_post(school + "/compte/differer", defer)
