"""The iCal link of a person's timetable (PRONOTE's `icalsecurise` parameter).

A calendar application fetches the link without a session, so the token itself says whose
timetable it is and proves the server issued it: `<person id>.<HMAC-SHA256 of it>` keyed by
the base (its id, creation time and seed). Nothing is stored; a new base issues new tokens.
"""

from __future__ import annotations

import hashlib
import hmac

from vm_agent.domain.bases import Base

_LENGTH = 24


def token(base: Base, person_id: str) -> str:
    return f"{person_id}.{_mac(base, person_id)}"


def person_id_of(base: Base, value: str) -> str | None:
    """The person a token was issued for, or None for a token this base did not issue."""
    person_id, _, mac = value.rpartition(".")
    if not person_id or not hmac.compare_digest(mac, _mac(base, person_id)):
        return None
    return person_id


def _mac(base: Base, person_id: str) -> str:
    key = f"{base.id}|{base.created_at_seconds}|{base.seed}".encode()
    return hmac.new(key, person_id.encode(), hashlib.sha256).hexdigest()[:_LENGTH]
