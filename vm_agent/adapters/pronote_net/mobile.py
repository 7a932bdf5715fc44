"""The mobile app (docs/pronote-net/mobile.md): `infoMobileApp.json` (pawnote `instance()`),
`JetonAppliMobile` (pronotepy `request_qr_code_data`: a QR code whose login and jeton are
encrypted with the PIN), and the token side of the login: a QR or token login checks the
challenge against the jeton or the device's token instead of the password, and a mobile
login returns the next token (`jetonConnexionAppliMobile`)."""

from __future__ import annotations

import datetime
from typing import Any

from common.pronote_net import VERSION, aes_encrypt, md5
from vm_agent.adapters.pronote_net.calls import Call
from vm_agent.adapters.pronote_net.envelope import PageState, invalid
from vm_agent.domain import mobile_tokens
from vm_agent.domain.bases import User
from vm_agent.domain.pronote_net import PronoteNet, WebAccount
from vm_agent.domain.publication import Espace
from vm_agent.domain.web import ESPACE_GENRES

ZERO_IV = bytes(16)


def info_mobile_app(pronote_net: PronoteNet, now_seconds: float) -> dict[str, Any]:
    """What pawnote's `decodeInstance` reads (src/decoders/instance.ts:3-24): the school's
    name, version, date, its published espaces (mobile pages) and the ENT's CAS if any."""
    school = pronote_net.school
    publication = school.publication
    espaces = [  # those with a mobile page, open now
        e for e, (_, mobile) in ESPACE_GENRES.items() if mobile and publication.refusal(e) is None
    ]
    delegation = next(
        (d for e in espaces if (d := publication.delegation_for(e)) is not None), None
    )
    cas: dict[str, Any] = {"actif": False}
    if delegation is not None:
        server = delegation.parameters.get("server_url") or delegation.login_url("").split("?")[0]
        cas = {"actif": True, "casURL": server, "jetonCAS": ""}
    today = datetime.datetime.fromtimestamp(now_seconds, tz=datetime.UTC)
    return {
        "nomEtab": school.identity.name,
        "version": [int(p) for p in VERSION.split(".")],
        "date": today.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "CAS": cas,
        "espaces": [{"nom": e.label, "URL": e.mobile_page} for e in espaces],
    }


def qr_code(call: Call) -> dict[str, Any]:
    """JetonAppliMobile (pronotepy clients.py:569-583): `{"code": "<4-digit PIN>"}` gives
    `{"jeton", "login"}`, each AES-CBC(MD5(PIN), zero IV) in hex (clients.py:182-192)."""
    pin = str(call.data.get("code", ""))
    if not (len(pin) == 4 and pin.isdigit()):
        raise invalid("the QR code's confirmation code must be 4 digits")
    account = call.state.account
    if account is None:
        raise invalid("log in before asking for a QR code")
    jeton = mobile_tokens.new_qr_jeton(call.base.activity, account.user, call.pronote_net.now())
    call.saved()
    key = md5(pin.encode())
    return {
        "jeton": aes_encrypt(key, ZERO_IV, jeton.encode()).hex(),
        "login": aes_encrypt(key, ZERO_IV, account.user.login.encode()).hex(),
        "avecPageConnexion": False,
    }


def read_login_kind(state: PageState, data: dict[str, Any]) -> None:
    """Identification's mobile flags (pronotepy clients.py:296-309, pawnote
    src/api/private/identify.ts:17-30): a QR jeton, a device token, or a password, and
    whether the app wants a token for next time."""
    state.device = str(data.get("uuidAppliMobile") or "")
    if data.get("demandeConnexionAppliMobileJeton") is True:
        state.mobile = "qr"
    elif data.get("enConnexionAppliMobile") is True:
        state.mobile = "token"
    else:
        state.mobile = ""
    state.wants_token = bool(state.device) and (
        state.mobile != "" or data.get("demandeConnexionAppliMobile") is True
    )


def token_account(call: Call, espace: Espace, login: str) -> WebAccount | None:
    """The account whose QR jeton or device token answers the challenge, or None."""
    state = call.state
    password_account = call.pronote_net.account(espace, login)
    if password_account is None:
        return None
    user, activity = password_account.user, call.base.activity
    if state.mobile == "qr":
        verifier = mobile_tokens.qr_verifier(activity, user, call.pronote_net.now())
    else:
        verifier = mobile_tokens.device_verifier(activity, user, state.device)
    return WebAccount(user, verifier.alea, verifier.digest) if verifier else None


def refused_qr(call: Call, account: WebAccount | None) -> bool:
    """A QR login whose login has no valid QR jeton (a wrong PIN decrypts the QR code to
    another login; or the code expired or was used) is a failed login as soon as it is
    identified: pawnote, unable to answer the challenge, never sends Authentification
    (src/api/helpers/login.ts:246-265). True when it was counted here."""
    if call.state.mobile != "qr" or account is not None:
        return False
    call.pronote_net.login_failed(call.session)
    return True


def next_token(call: Call, user: User) -> dict[str, Any]:
    """After a successful login: the QR jeton is used up; a mobile login gets its next
    token (the previous one of this device stops working)."""
    state, activity = call.state, call.base.activity
    if state.mobile == "qr":
        mobile_tokens.use_qr(activity, user)
    if not state.wants_token:
        return {}
    token = mobile_tokens.new_device_token(activity, user, state.device, call.pronote_net.now())
    call.saved()
    return {"jetonConnexionAppliMobile": token}
