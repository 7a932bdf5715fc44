"""A small PRONOTE.net client (aiohttp), as a browser or the mobile app speaks it: the load
generator's web users and the benchmark log in with it. Spec: docs/pronote-net/protocol.md.
"""

from __future__ import annotations

import base64
import datetime
import re
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from common.pronote_net import (
    Cipherer,
    CryptoError,
    aes_decrypt,
    aes_encrypt,
    md5,
    parse_key_list,
    password_digest,
    unscramble,
    user_key,
)

_START = re.compile(r"Start ?\(\{(?P<params>[^}]*)\}\)")


class WebError(Exception):
    """A refusal or a broken answer; `code` names it for the report."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class WebClient:
    http: aiohttp.ClientSession
    page_url: str  # http://<address>:<port>/pronote/eleve.html
    cipher: Cipherer = field(default_factory=Cipherer)
    session: str = ""
    genre: str = ""
    order: int = -1
    user: dict[str, Any] = field(default_factory=dict)
    general: dict[str, Any] = field(default_factory=dict)
    auth: dict[str, Any] = field(default_factory=dict)

    @property
    def root(self) -> str:
        return self.page_url.rsplit("/", 1)[0]

    async def open(self) -> None:
        async with self.http.get(self.page_url) as response:
            text = await response.text()
        if "IP" in text:
            raise WebError("SUSPENDED", "Votre adresse IP est provisoirement suspendue")
        match = _START.search(text)
        if match is None:
            raise WebError("UNAVAILABLE", f"no espace page at {self.page_url} ({response.status})")
        params = dict(item.split(":", 1) for item in match.group("params").split(","))
        self.session = params["h"].strip("'")
        self.genre = params["a"]
        self.cipher = Cipherer(encrypt="CrA" in params, compress="CoA" in params)
        self.order = -1
        reply = await self.call(
            "FonctionParametres",
            {"Uuid": base64.b64encode(self.cipher.iv_temp).decode(), "identifiantNav": None},
        )
        self.general = reply.get("General", {})

    async def login(self, login: str, password: str, **mobile: Any) -> bool:
        """Identification then Authentification; False on a bad password. `mobile` sets the
        app's flags (enConnexionAppliMobile, uuidAppliMobile...); a token then replaces the
        password, and the next token is kept in `auth`."""
        ident = await self.call(
            "Identification",
            {"genreConnexion": 0, "genreEspace": int(self.genre), "identifiant": login,
             "pourENT": False, "enConnexionAuto": False, "demandeConnexionAuto": False,
             "demandeConnexionAppliMobile": False, "demandeConnexionAppliMobileJeton": False,
             "enConnexionAppliMobile": False, "uuidAppliMobile": "", "loginTokenSAV": "",
             **mobile},
        )  # fmt: skip
        key = user_key(login, password_digest(str(ident.get("alea", "")), password))
        iv = self.cipher.iv
        try:
            plain = aes_decrypt(key, iv, bytes.fromhex(ident["challenge"])).decode()
        except (CryptoError, UnicodeDecodeError):
            plain = ""
        answer = aes_encrypt(key, iv, unscramble(plain).encode()).hex()
        auth = await self.call(
            "Authentification", {"connexion": 0, "challenge": answer, "espace": int(self.genre)}
        )
        self.auth = auth
        if "cle" not in auth:
            return False
        session_key = parse_key_list(aes_decrypt(key, iv, bytes.fromhex(auth["cle"])).decode())
        self.cipher.key = md5(session_key)
        self.user = await self.call("ParametresUtilisateur", {})
        return True

    async def call(self, name: str, data: dict[str, Any], onglet: int | None = None) -> Any:
        self.order += 2
        payload: dict[str, Any] = {}
        if onglet is not None:
            payload["Signature"] = {"onglet": onglet}
        if data:
            payload["data"] = data
        body = {
            "session": int(self.session),
            "no": self.cipher.order(self.order),
            "id": name,
            "dataSec": self.cipher.seal_request(payload),
        }
        url = f"{self.root}/appelfonction/{self.genre}/{self.session}/{body['no']}"
        async with self.http.post(url, json=body) as response:
            if response.status != 200:
                raise WebError(f"HTTP_{response.status}", f"{name}: HTTP {response.status}")
            reply = await response.json()
        if "Erreur" in reply:
            error = reply["Erreur"]
            codes = {10: "EXPIRED", 11: "SUSPENDED", 1: "UNAVAILABLE"}
            why = f"{error.get('Titre')}: {error.get('Message')}" if error.get("Message") else ""
            raise WebError(codes.get(error.get("G"), "ERROR"), why or str(error.get("Titre")))
        if name == "FonctionParametres":
            self.cipher.start_session_iv()
        try:
            return self.cipher.open_response(reply["dataSec"])["data"]
        except (CryptoError, KeyError, TypeError) as error:
            raise WebError("BAD_REPLY", f"{name}: {error}") from None

    async def timetable(self, week: int) -> list[dict[str, Any]]:
        ressource = self.user.get("ressource", {})
        reply = await self.call(
            "PageEmploiDuTemps",
            {"ressource": ressource, "Ressource": ressource, "numeroSemaine": week,
             "NumeroSemaine": week, "avecAbsencesEleve": False, "avecConseilDeClasse": True,
             "estEDTPermanence": False, "avecAbsencesRessource": True,
             "avecDisponibilites": True, "avecInfosPrefsGrille": True},
            onglet=16,
        )  # fmt: skip
        return list(reply.get("ListeCours", []))

    async def grades(self) -> dict[str, Any]:
        """The default period's grades and averages."""
        ressource = self.user.get("ressource", {})
        children = ressource.get("listeRessources") or [ressource]
        tabs = children[0].get("listeOngletsPourPeriodes", {}).get("V", [])
        period = next((t.get("periodeParDefaut", {}).get("V") for t in tabs), None)
        if not period:
            return {}
        return dict(await self.call("DernieresNotes", {"Periode": period}, onglet=198))

    def current_week(self) -> int:
        """The week of JourOuvre (the server's "today"), as clients compute it."""
        first = _date(self.general["PremierLundi"])
        return 1 + (_date(self.general["JourOuvre"]) - first).days // 7


def _date(value: dict[str, Any]) -> datetime.date:
    return datetime.datetime.strptime(value["V"], "%d/%m/%Y").date()
