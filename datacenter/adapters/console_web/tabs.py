"""What every tab of a school's console shares (seed 004): the tabs, the words for the
protocol's values, and the helpers that ask the API for this page's school."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from datacenter.adapters.console_web.api import Refused
from datacenter.adapters.console_web.pages import call, render, see_other, session_of
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
