"""The aiohttp adapter: `/pronote/` pages and `appelfonction`, in the agent's event loop."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from common.clock import Clock
from common.pronote_net import Cipherer, dumps
from vm_agent.adapters.pronote_net import (
    communication,
    evaluations,
    grades,
    login,
    page,
    presence,
    schooling,
)
from vm_agent.adapters.pronote_net.calls import Call, Handler
from vm_agent.adapters.pronote_net.envelope import (
    BAD_REQUEST,
    SUSPENDED,
    UNAVAILABLE,
    CallError,
    PageState,
    expired,
    open_call,
    seal_reply,
)
from vm_agent.adapters.slot import NotReady, SchoolSlot
from vm_agent.domain import calendar
from vm_agent.domain.errors import Forbidden, NotFound
from vm_agent.domain.pronote_net import PageUnavailable, PronoteNet
from vm_agent.domain.publication import Espace
from vm_agent.domain.web import ESPACE_GENRES

log = logging.getLogger("vm_agent.pronote_net")

PREFIX = "/pronote"
LOGIN_FUNCTIONS: dict[str, Handler] = {
    "FonctionParametres": login.fonction_parametres,
    "Identification": login.identification,
    "Authentification": login.authentification,
}
FUNCTIONS: dict[str, Handler] = {
    "ParametresUtilisateur": login.parametres_utilisateur,
    "PageEmploiDuTemps": schooling.timetable,
    "PageCahierDeTexte": schooling.homework,
    "DernieresNotes": grades.grades,
    "PagePresence": presence.presence,
    "DernieresEvaluations": evaluations.evaluations,
    "PageActualites": communication.news,
    "ListeMessagerie": communication.discussions,
    "ListeMessages": communication.messages,
    "Navigation": communication.nothing,
    "Presence": communication.nothing,
    "PageInfosPerso": communication.personal_details,
    "ListeRessources": communication.class_students,
}


def _pages() -> dict[str, tuple[Espace, int]]:
    pages = {}
    for espace, (genre, mobile_genre) in ESPACE_GENRES.items():
        pages[espace.page] = (espace, genre)
        if mobile_genre is not None:
            pages[espace.mobile_page] = (espace, mobile_genre)
    return pages


PAGES = _pages()


class PronoteNetApp:
    def __init__(self, slot: SchoolSlot, clock: Clock) -> None:
        self._slot = slot
        self._clock = clock
        self._pronote_net: PronoteNet | None = None
        self._states: dict[int, PageState] = {}
        self._pages_opened = 0

    @property
    def pronote_net(self) -> PronoteNet:
        if self._pronote_net is None:
            self._pronote_net = PronoteNet(self._slot.school, self._clock)
        return self._pronote_net

    def routes(self, app: web.Application) -> None:
        app.router.add_get(f"{PREFIX}/", self.commune)
        app.router.add_get(PREFIX, self.commune)
        app.router.add_get(PREFIX + "/{page:[a-z.]+\\.html}", self.espace)
        app.router.add_post(PREFIX + "/appelfonction/{a}/{h}/{no}", self.call)

    async def commune(self, request: web.Request) -> web.Response:
        try:
            school = self._slot.school
        except NotReady:
            return _html(page.unavailable_page("le serveur démarre"), 503)
        publication = school.publication
        if not publication.published or not publication.page_published("commune"):
            return _html(page.unavailable_page("la page commune n'est pas publiée"), 503)
        links = [
            (e.page, e.label) for e in ESPACE_GENRES if publication.refusal(e) is None
        ]  # only the espaces a visitor can open now
        return _html(page.commune_page(school.identity.name, links))

    async def espace(self, request: web.Request) -> web.Response:
        found = PAGES.get(request.match_info["page"])
        if found is None:
            known = ", ".join(sorted(PAGES))
            return _html(page.unavailable_page(f"cette page n'existe pas ({known})"), 404)
        espace, genre = found
        try:
            session = self.pronote_net.open_page(espace, request.remote or "")
        except NotReady:
            return _html(page.unavailable_page("le serveur démarre, réessayez"), 503)
        except Forbidden:
            return _html(page.suspended_page(), 403)
        except PageUnavailable as refusal:
            return _html(page.unavailable_page(str(refusal)), 503)
        query = request.query  # a simulator knob to try every mode: ?CrA=0 / ?CoA=0
        cipher = Cipherer(encrypt=query.get("CrA") != "0", compress=query.get("CoA") != "0")
        self._states[session.number] = PageState(genre, cipher)
        self._forget_closed_pages()
        return _html(page.espace_page(session.number, genre, espace.label, cipher))

    async def call(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        try:
            reply = self._answer(request.match_info["h"], body, request.remote or "")
        except CallError as error:
            reply = error.body()
        return web.Response(body=dumps(reply), content_type="application/json")

    def _answer(self, h: str, body: Any, source_ip: str) -> dict[str, Any]:
        number = int(h) if h.isdigit() else -1
        state = self._states.get(number)
        try:
            session, base = self.pronote_net.session(number, source_ip)
        except (NotFound, NotReady):
            self._states.pop(number, None)
            raise expired() from None
        except Forbidden:
            raise CallError(SUSPENDED, page.SUSPENDED_TEXT) from None
        except PageUnavailable as refusal:
            raise CallError(
                UNAVAILABLE, "La page demandée n'est pas disponible", str(refusal)
            ) from None
        if state is None:
            raise expired()
        name, order, payload = open_call(state, body)
        handler = LOGIN_FUNCTIONS.get(name) or (
            FUNCTIONS.get(name) if state.authenticated else None
        )
        if handler is None:
            raise CallError(BAD_REQUEST, "Requête invalide", f"unknown or unauthorised call {name}")
        now = calendar.school_now(self._clock.now())  # the school's own today (Paris)
        data = handler(Call(self.pronote_net, session, base, state, payload, now.date(), now))
        return seal_reply(state, number, name, order, data)

    def _forget_closed_pages(self) -> None:
        """Drop the protocol state of pages the domain expired (now and then, not per call)."""
        self._pages_opened += 1
        if self._pages_opened % 256:
            return
        alive = {s.number for s in self.pronote_net.school.web_sessions}
        for number in [n for n in self._states if n not in alive]:
            del self._states[number]


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def pronote_net_app(slot: SchoolSlot, clock: Clock) -> web.Application:
    app = web.Application()
    PronoteNetApp(slot, clock).routes(app)
    return app
