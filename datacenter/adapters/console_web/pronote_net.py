"""The PRONOTE.net tab (seed 004 Fiches 8-9): publication, espaces and their addresses,
délégation de l'authentification to an ENT of the catalogue, export of the identifiers file."""

from __future__ import annotations

import asyncio

from aiohttp import web

from datacenter.adapters.console_web.pages import call
from datacenter.adapters.console_web.tabs import done, form, ref, tab, uai_of
from protos import common_pb2, console_pb2


async def pronote_net(request: web.Request) -> web.StreamResponse:
    publication, ents = await asyncio.gather(
        call(request, "GetPublication", ref(request)),
        call(request, "ListEnts", console_pb2.EntsRequest()),
    )
    return tab(
        request,
        "school/pronote_net.html",
        "pronote-net",
        publication=publication,
        ents=ents.ents,
        delegated=publication.HasField("delegation"),
    )


async def set_published(request: web.Request) -> web.StreamResponse:
    data = await form(request, "pronote-net")
    published = data.get("published") == "oui"
    await call(
        request,
        "SetPublished",
        console_pb2.SetPublishedRequest(uai=uai_of(request), published=published),
    )
    return done(request, "La base est publiée." if published else "La publication est arrêtée.")


async def set_page(request: web.Request) -> web.StreamResponse:
    data = await form(request, "pronote-net")
    published = data.get("published") == "oui"
    page = str(data.get("page", ""))
    await call(
        request,
        "SetPagePublished",
        console_pb2.SetPagePublishedRequest(uai=uai_of(request), page=page, published=published),
    )
    return done(request, f"{page} : {'publiée' if published else 'non publiée'}.")


async def set_delegation(request: web.Request) -> web.StreamResponse:
    data = await form(request, "pronote-net")
    await call(
        request,
        "SetDelegation",
        console_pb2.SetDelegationRequest(
            uai=uai_of(request),
            delegation=common_pb2.Delegation(
                ent=str(data.get("ent", "")),
                espaces=[str(espace) for espace in data.getall("espaces", [])],
                allow_direct_authentication=data.get("direct") == "oui",
            ),
        ),
    )
    return done(request, "L'authentification est déléguée à l'ENT.")


async def remove_delegation(request: web.Request) -> web.StreamResponse:
    await form(request, "pronote-net")
    await call(request, "RemoveDelegation", ref(request))
    return done(request, "La délégation est supprimée.")


async def identifiers(request: web.Request) -> web.StreamResponse:
    """The identifiers file for the ENT (IdPN_To_<ENT>.xml), as the API exports it."""
    exported = await call(request, "ExportIdentifiers", ref(request))
    return web.Response(
        body=exported.data,
        headers={
            "Content-Type": "application/xml",
            "Content-Disposition": f'attachment; filename="{exported.file_name}"',
        },
    )


def add_routes(app: web.Application, school: str) -> None:
    app.router.add_get(school + "/pronote-net", pronote_net)
    app.router.add_post(school + "/pronote-net/publication", set_published)
    app.router.add_post(school + "/pronote-net/page", set_page)
    app.router.add_post(school + "/pronote-net/delegation", set_delegation)
    app.router.add_post(school + "/pronote-net/delegation/supprimer", remove_delegation)
    app.router.add_get(school + "/pronote-net/identifiants", identifiers)
