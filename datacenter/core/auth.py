"""Console credentials (DESIGN decision 9): a school's login sees only that school; the
operator token acts on the whole fleet. Only hashes are stored."""

from __future__ import annotations

import dataclasses
import hmac
import json
from dataclasses import dataclass
from pathlib import Path

from common import secrets
from common.clock import Clock
from common.fail2ban import Guard, SecurityPolicy, Suspension
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


# The console login's suspensions, as JSON rows of `common.fail2ban.Suspension`.
SUSPENSIONS_META = "console_login_suspensions"


@dataclass(frozen=True)
class ConsoleLogin:
    token: str
    uai: str
    expires_at_seconds: float


class ConsoleAuth:
    def __init__(
        self,
        registry: Registry,
        clock: Clock,
        session_seconds: float,
        policy: SecurityPolicy | None = None,
    ) -> None:
        self._registry = registry
        self._clock = clock
        self._session_seconds = session_seconds
        self._sessions: dict[str, tuple[str, float]] = {}  # token digest -> (uai, expiry)
        # Failed console logins per source address, the schools' fail2ban rules (issue 12, 6):
        # every console front end (the CLI's gRPC, the web console) logs in through here.
        # Its suspensions survive a restart, as the schools' do (kept in the registry's meta).
        self.guard = Guard(policy or SecurityPolicy(), self._saved_suspensions())
        # The controller's own web console calls the API from the controller's address; with
        # this token (in memory, never written) it may name the browser's address instead, so
        # its users are throttled one by one rather than all together as the controller.
        self.front_end_token = secrets.new_token()

    def trusts_front_end(self, token: str) -> bool:
        """True when `token` is this controller's front-end token (constant-time compare)."""
        return bool(token) and hmac.compare_digest(token, self.front_end_token)

    def _saved_suspensions(self) -> list[Suspension]:
        saved = self._registry.get_meta(SUSPENSIONS_META)
        try:
            return [Suspension(**row) for row in json.loads(saved or "[]")]
        except (TypeError, ValueError):  # unreadable: start with none rather than not start
            return []

    def _failed(self, source_ip: str, now: float) -> None:
        """Count a failed login; a new suspension is saved before the refusal is sent."""
        if self.guard.record_failure(source_ip, now) is not None:
            rows = [dataclasses.asdict(s) for s in self.guard.suspensions(now)]
            self._registry.set_meta(SUSPENSIONS_META, json.dumps(rows))

    def ensure_operator_token(self, path: Path) -> str:
        """The operator token lives in a 0600 file beside the registry; its hash in the registry."""
        try:
            token = path.read_text().strip()
        except FileNotFoundError:
            token = secrets.new_token()
            write_atomically(path, token.encode() + b"\n", mode=0o600)
        self._registry.set_meta("operator_token_digest", secrets.token_digest(token))
        return token

    def login(
        self, hosting_number: str, password: str, invoice_number: str, source_ip: str = ""
    ) -> ConsoleLogin:
        """A school's console session. `source_ip` is the caller's address: `maxretry` wrong
        passwords within `findtime` suspend it for `bantime` (PERMISSION_DENIED, even with the
        right password), as a school does for its own logins."""
        now = self._clock.now()
        suspension = self.guard.suspension(source_ip, now)
        if suspension is not None:
            minutes = max(1, round((suspension.until_seconds - now) / 60))
            raise Forbidden(
                f"too many failed console logins from {source_ip or 'this address'}: suspended "
                f"for {minutes} more minute(s); wait, then log in again (failures are counted "
                "per address, as on the schools)"
            )
        record = self._registry.by_hosting_number(hosting_number.strip())
        if record is None or not secrets.verify(password, record.console_password_hash):
            self._failed(source_ip, now)
            raise Unauthenticated(
                "wrong hosting number or password; they were sent by e-mail and SMS at activation"
            )
        if not record.first_login_done:
            if not invoice_number:
                raise Unauthenticated(
                    "the first login also needs the invoice number sent by e-mail; give it"
                )
            if not hmac.compare_digest(invoice_number.strip(), record.invoice_number):
                self._failed(source_ip, now)
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
