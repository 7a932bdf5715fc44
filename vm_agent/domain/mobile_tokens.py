"""The mobile app's logins (docs/pronote-net/mobile.md): a QR code's jeton (valid 10 minutes,
used once) and the per-device token (`jetonConnexionAppliMobile`) that replaces the password
at the next login and is replaced by a new one at each login.

Both are stored hashed with `common.secrets.hash_secret`, whose salt doubles as the login
challenge's `alea`: the server can check the client's answer without keeping the token. Each
record carries a stamp of the password it was issued under, so a password change revokes
every token and QR code of that user. A refused token or QR code is a failed login for the
caller (it counts toward the IP suspension like a wrong password).
"""

from __future__ import annotations

from dataclasses import dataclass

from common import secrets
from vm_agent.domain.activity import Activity
from vm_agent.domain.bases import User

QR_VALIDITY_SECONDS = 600.0  # "valid during 10 minutes" (pronotepy clients.py:336-340)
MAX_DEVICES_PER_USER = 10


@dataclass(frozen=True)
class Verifier:
    """What the login challenge needs: alea and SHA256(alea + secret), upper hex."""

    alea: str
    digest: str


def new_qr_jeton(activity: Activity, user: User, now_seconds: float) -> str:
    """A QR code's jeton for `user` (it replaces any earlier one), valid 10 minutes."""
    jeton = secrets.new_token()
    activity.qr_codes[user.login] = {
        "hash": secrets.hash_secret(jeton),
        "stamp": _stamp(user),
        "expires_at_seconds": now_seconds + QR_VALIDITY_SECONDS,
    }
    return jeton


def qr_verifier(activity: Activity, user: User, now_seconds: float) -> Verifier | None:
    """The pending QR jeton's verifier; None once expired, used or revoked."""
    record = activity.qr_codes.get(user.login)
    if record is None or record["stamp"] != _stamp(user):
        return None
    if now_seconds >= float(record["expires_at_seconds"]):
        return None
    return _verifier(record["hash"])


def use_qr(activity: Activity, user: User) -> None:
    activity.qr_codes.pop(user.login, None)


def new_device_token(activity: Activity, user: User, device: str, now_seconds: float) -> str:
    """The next token of `user` on `device` (uuidAppliMobile); it replaces the last one."""
    token = secrets.new_token()
    devices = activity.mobile_tokens.setdefault(user.login, {})
    devices[device] = {
        "hash": secrets.hash_secret(token),
        "stamp": _stamp(user),
        "issued_at_seconds": now_seconds,
    }
    while len(devices) > MAX_DEVICES_PER_USER:  # the oldest device is forgotten
        oldest = min(devices, key=lambda d: float(devices[d]["issued_at_seconds"]))
        del devices[oldest]
    return token


def device_verifier(activity: Activity, user: User, device: str) -> Verifier | None:
    """The device's current token verifier; None if none was issued or it was revoked."""
    record = activity.mobile_tokens.get(user.login, {}).get(device)
    if record is None or record["stamp"] != _stamp(user):
        return None
    return _verifier(record["hash"])


def _verifier(stored: str) -> Verifier | None:
    found = secrets.pronote_net_verifier(stored)
    return Verifier(*found) if found else None


def _stamp(user: User) -> str:
    """Changes whenever the user's password does (never the password itself)."""
    return secrets.token_digest(user.password_hash)[:16]
