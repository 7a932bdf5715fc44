"""The aiohttp adapter: `/pronote/` pages and `appelfonction`, in the agent's event loop."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web
from yarl import URL

from common.clock import Clock
from common.pronote_net import Cipherer, dumps
from vm_agent.adapters.pronote_net import (
    acts,
    communication,
    evaluations,
    grades,
    homepage,
    login,
    messaging,
    mobile,
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
    "ListeMessagerie": messaging.discussions,
    "ListeMessages": messaging.messages,
    "SaisieMessage": messaging.write,
    "SaisiePublicMessage": messaging.participants,
    "ListeRessourcesPourCommunication": messaging.recipients,
    "SaisieActualites": acts.news_acts,
    "SaisieTAFFaitEleve": acts.homework_done,
    "Navigation": communication.nothing,
    "Presence": communication.nothing,
    "PageInfosPerso": communication.personal_details,
    "ListeRessources": communication.class_students,
    "JetonAppliMobile": mobile.qr_code,
    "PageAccueil": homepage.page,
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
        self._flush: asyncio.Future[None] | None = None  # the next group commit

    @property
    def pronote_net(self) -> PronoteNet:
        if self._pronote_net is None:
            self._pronote_net = PronoteNet(self._slot.school, self._clock)
        return self._pronote_net

    def routes(self, app: web.Application) -> None:
        app.router.add_get(f"{PREFIX}/", self.commune)
        app.router.add_get(PREFIX, self.commune)
        app.router.add_get(PREFIX + "/{page:[a-z.]+\\.html}", self.espace)
        for name in ("infoMobileApp.json", "InfoMobileApp.json"):
            app.router.add_get(f"{PREFIX}/{name}", self.info_mobile_app)
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

    async def info_mobile_app(self, request: web.Request) -> web.Response:
        """What the mobile app reads first (pawnote `instance()`): the school and its espaces."""
        try:
            info = mobile.info_mobile_app(self.pronote_net, self._clock.now())
        except NotReady:
            return web.json_response({"erreur": "le serveur démarre, réessayez"}, status=503)
        return web.json_response(info)

    async def espace(self, request: web.Request) -> web.Response:
        found = PAGES.get(request.match_info["page"])
        if found is None:
            known = ", ".join(sorted(PAGES))
            return _html(page.unavailable_page(f"cette page n'existe pas ({known})"), 404)
        espace, genre = found
        try:
            self.pronote_net.check_open(espace, request.remote or "")
            ent = self.pronote_net.ent_redirect(
                espace, str(request.url.with_query(None)), _direct_asked(request)
            )
            if ent is not None:  # PRONOTE's front end: the delegated espace's CAS login
                raise web.HTTPFound(URL(ent, encoded=True))  # keep the %-encoding
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
        wrote = False
        try:
            reply, wrote = self._answer(request.match_info["h"], body, request.remote or "")
        except CallError as error:
            reply = error.body()
        if wrote:
            await self._durable()
        return web.Response(body=dumps(reply), content_type="application/json")

    async def _durable(self) -> None:
        """Group commit: the calls that wrote in this round of the event loop wait for one
        save of the school's state (atomic, fsync) made right after them, then answer: one
        save for the messages of many users at once, and nothing answered before it is on
        disk. A save that fails fails every waiting call."""
        if self._flush is None:
            self._flush = asyncio.get_running_loop().create_future()
            asyncio.get_running_loop().call_soon(self._save_now)  # after this round of calls
        await asyncio.shield(self._flush)

    def _save_now(self) -> None:
        flush, self._flush = self._flush, None
        if flush is None:
            return
        try:
            self.pronote_net.school.commit_saved()
        except Exception as error:  # every waiting call fails with it (HTTP 500)
            flush.set_exception(error)
        else:
            flush.set_result(None)

    def _answer(self, h: str, body: Any, source_ip: str) -> tuple[dict[str, Any], bool]:
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
        call = Call(self.pronote_net, session, base, state, payload, now.date(), now)
        data = handler(call)
        return seal_reply(state, number, name, order, data), call.wrote

    def _forget_closed_pages(self) -> None:
        """Drop the protocol state of pages the domain expired (now and then, not per call)."""
        self._pages_opened += 1
        if self._pages_opened % 256:
            return
        alive = {s.number for s in self.pronote_net.school.web_sessions}
        for number in [n for n in self._states if n not in alive]:
            del self._states[number]


def _direct_asked(request: web.Request) -> bool:
    """`?login=true` (pronotepy, the browser) or pawnote's `bydlg` asks for PRONOTE's own form."""
    query = request.query
    return query.get("login", "").lower() == "true" or "bydlg" in query


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def pronote_net_app(slot: SchoolSlot, clock: Clock) -> web.Application:
    app = web.Application()
    PronoteNetApp(slot, clock).routes(app)
    return app
