"""Console credentials (DESIGN decision 9): a school's login sees only that school; the
operator token acts on the whole fleet. Only hashes are stored."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from pathlib import Path

from common import secrets
from common.clock import Clock
from common.files import write_atomically
from datacenter.core.errors import Forbidden, Unauthenticated
from datacenter.core.registry import Registry

OPERATOR = None


@dataclass(frozen=True)
class Principal:
    uai: str | None  # None: the operator

    @property
    def is_operator(self) -> bool:
        return self.uai is None


@dataclass(frozen=True)
class ConsoleLogin:
    token: str
    uai: str
    expires_at_seconds: float


class ConsoleAuth:
    def __init__(self, registry: Registry, clock: Clock, session_seconds: float) -> None:
        self._registry = registry
        self._clock = clock
        self._session_seconds = session_seconds
        self._sessions: dict[str, tuple[str, float]] = {}  # token digest -> (uai, expiry)

    def ensure_operator_token(self, path: Path) -> str:
        """The operator token lives in a 0600 file beside the registry; its hash in the registry."""
        try:
            token = path.read_text().strip()
        except FileNotFoundError:
            token = secrets.new_token()
            write_atomically(path, token.encode() + b"\n", mode=0o600)
        self._registry.set_meta("operator_token_digest", secrets.token_digest(token))
        return token

    def login(self, hosting_number: str, password: str, invoice_number: str) -> ConsoleLogin:
        refusal = Unauthenticated(
            "wrong hosting number or password; they were sent by e-mail and SMS at activation"
        )
        record = self._registry.by_hosting_number(hosting_number.strip())
        if record is None or not secrets.verify(password, record.console_password_hash):
            raise refusal
        if not record.first_login_done:
            if not invoice_number:
                raise Unauthenticated(
                    "the first login also needs the invoice number sent by e-mail; give it"
                )
            if not hmac.compare_digest(invoice_number.strip(), record.invoice_number):
                raise Unauthenticated("wrong invoice number; use the one sent by e-mail")
            self._registry.mark_first_login(record.uai)
        token = secrets.new_token()
        expires = self._clock.now() + self._session_seconds
        self._sessions[secrets.token_digest(token)] = (record.uai, expires)
        return ConsoleLogin(token, record.uai, expires)

    def principal(self, token: str) -> Principal:
        if not token:
            raise Unauthenticated(
                "log in first: `pronote-dc console login`, or use the operator token"
            )
        digest = secrets.token_digest(token)
        operator_digest = self._registry.get_meta("operator_token_digest")
        if operator_digest is not None and hmac.compare_digest(digest, operator_digest):
            return Principal(OPERATOR)
        session = self._sessions.get(digest)
        if session is None or session[1] <= self._clock.now():
            self._sessions.pop(digest, None)
            raise Unauthenticated("this console session is unknown or expired; log in again")
        return Principal(session[0])

    def forget_school(self, uai: str) -> None:
        self._sessions = {k: v for k, v in self._sessions.items() if v[0] != uai}


def require_operator(principal: Principal, action: str) -> None:
    if not principal.is_operator:
        raise Forbidden(f"only the data-center operator can {action}; use the operator token")


def require_school(principal: Principal, uai: str) -> None:
    if principal.uai is not None and principal.uai != uai:
        raise Forbidden(
            f"this console session belongs to school {principal.uai} and cannot act on {uai}; "
            f"log in with the hosting number of {uai}"
        )
