"""One page's protocol state (key, IV, order numbers, challenge) and the call envelope.

Spec §3.4: the first call (FonctionParametres) uses the zero IV and its response already the
session IV; the Authentification response uses the old key, the next request the new one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from common.pronote_net import Cipherer, CryptoError, md5
from vm_agent.domain.pronote_net import WebAccount

log = logging.getLogger("vm_agent.pronote_net")

# Erreur.G codes the clients act on (spec §7).
EXPIRED = 10
SUSPENDED = 11
UNAVAILABLE = 1
BAD_REQUEST = 2


class CallError(Exception):
    """An `Erreur` answer: HTTP 200 with {"Erreur": {"G", "Titre", "Message"}}."""

    def __init__(self, code: int, title: str, message: str = "") -> None:
        super().__init__(title)
        self.code = code
        self.title = title
        self.message = message or title

    def body(self) -> dict[str, Any]:
        return {"Erreur": {"G": self.code, "Titre": self.title, "Message": self.message}}


def invalid(reason: str) -> CallError:
    """`Requête invalide`, what PRONOTE answers a call it refuses; the message says why."""
    return CallError(BAD_REQUEST, "Requête invalide", reason)


def expired() -> CallError:
    return CallError(
        EXPIRED, "La page a expiré !", "La page a expiré : rechargez l'espace pour continuer."
    )


@dataclass
class PageState:
    """What the protocol keeps for one open espace page (`h`)."""

    genre: int
    cipher: Cipherer
    last_order: int = -1
    account: WebAccount | None = None
    user_key: bytes = b""
    challenge_plain: str = ""
    challenge_hex: str = ""
    pending_key: bytes | None = None  # switched to after the Authentification response
    authenticated: bool = False
    child_ids: list[str] = field(default_factory=list)
    mobile: str = ""  # "qr" or "token": how the mobile app logs in (adapters.pronote_net.mobile)
    device: str = ""  # uuidAppliMobile
    wants_token: bool = False  # the app asked for jetonConnexionAppliMobile
    failure_counted: bool = False  # a refused QR login, counted at Identification already


def open_call(state: PageState, body: Any) -> tuple[str, int, dict[str, Any]]:
    """(function name, order number, payload) of a request body."""
    if not isinstance(body, dict):
        raise CallError(BAD_REQUEST, "Requête invalide", "the body must be a JSON object")
    name = body.get("id") or body.get("nom")
    if not isinstance(name, str):
        raise CallError(BAD_REQUEST, "Requête invalide", "the call has no function name (id)")
    try:
        number = state.cipher.read_order(str(body.get("no") or body.get("numeroOrdre") or ""))
        if number != state.last_order + 2:
            log.debug("order %s after %s (not enforced: clients race)", number, state.last_order)
        state.last_order = number
        payload = state.cipher.open_request(body.get("dataSec", body.get("donneesSec", {})))
    except CryptoError as error:
        raise CallError(BAD_REQUEST, "Requête invalide", str(error)) from None
    if not isinstance(payload, dict):
        raise CallError(BAD_REQUEST, "Requête invalide", "the payload must be a JSON object")
    return name, number, payload


def seal_reply(
    state: PageState, session_number: int, name: str, number: int, data: dict[str, Any]
) -> dict[str, Any]:
    if name == "FonctionParametres":  # the response already uses the session IV (§10.2)
        state.cipher.start_session_iv()
    reply = {
        "session": session_number,
        "no": state.cipher.order(number + 1),
        "id": name,
        "dataSec": state.cipher.seal_response({"data": data}),
    }
    if state.pending_key is not None:  # the next request uses MD5(K) (§10.3)
        state.cipher.key = md5(state.pending_key)
        state.pending_key = None
    return reply
