"""What makes the web console an admin UI: server-side sessions behind a cookie, a CSRF token
per session, a login throttle per source address, and the security headers of every page.

The console token lives only here, in memory, keyed by a random session id: the browser holds
the id in an HttpOnly, SameSite=Strict cookie (Secure under TLS), never the token, and no token
or password is ever in a URL or a log.

A school's login is throttled by the console API itself (`ConsoleAuth`), on the browser's
address that the web console names with the controller's front-end token, so the CLI and the
browser share one count per address. The operator's token form is throttled here with the same
rule (`common.fail2ban`: `maxretry` failures within `findtime` suspend the address for
`bantime`; the PRONOTE_DC_MAXRETRY / _FINDTIME_SECONDS / _BANTIME_SECONDS settings).
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from common.fail2ban import Guard, SecurityPolicy

COOKIE = "pdc_console"
COOKIE_PATH = "/console/"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
# No inline script nor style, nothing from elsewhere: htmx and console.js are in /console/static/.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass
class WebSession:
    """A browser's session: anonymous (login page) until `token` is set by a login."""

    id: str
    csrf: str
    expires_at: float
    token: str = ""
    uai: str = ""  # the school of a school's login; empty for the operator
    operator: bool = False
    flashes: list[tuple[str, str]] = field(default_factory=list)  # (kind, message), shown once

    @property
    def logged_in(self) -> bool:
        return bool(self.token)

    def flash(self, kind: str, message: str) -> None:
        self.flashes.append((kind, message))

    def take_flashes(self) -> list[tuple[str, str]]:
        taken, self.flashes = self.flashes, []
        return taken

    def csrf_ok(self, given: str) -> bool:
        return bool(given) and hmac.compare_digest(given.encode(), self.csrf.encode())


ANONYMOUS_SECONDS = 3600.0  # a login page left open this long must be reloaded
MAX_ANONYMOUS = 10_000  # beyond, the oldest anonymous sessions go: a flood costs bounded memory


class WebSessions:
    """Sessions in memory (a controller restart logs everyone out, as its console tokens are
    in memory too). A logged-in session lasts `lifetime_seconds` (the console login's
    lifetime); an anonymous one (the login page's, for its CSRF token) at most
    `ANONYMOUS_SECONDS`, and only the newest `MAX_ANONYMOUS` of them are kept."""

    def __init__(self, lifetime_seconds: float, now: Callable[[], float] = time.monotonic) -> None:
        self._lifetime = lifetime_seconds
        self._now = now
        self._anonymous: dict[str, WebSession] = {}  # oldest first
        self._logged_in: dict[str, WebSession] = {}

    def get(self, session_id: str | None) -> WebSession | None:
        if not session_id:
            return None
        session = self._logged_in.get(session_id) or self._anonymous.get(session_id)
        if session is not None and session.expires_at <= self._now():
            self.drop(session_id)
            return None
        return session

    def new(self) -> WebSession:
        """An anonymous session."""
        if len(self._anonymous) >= MAX_ANONYMOUS:
            for key in list(self._anonymous)[: MAX_ANONYMOUS // 10]:
                del self._anonymous[key]
        session = self._session(min(self._lifetime, ANONYMOUS_SECONDS))
        self._anonymous[session.id] = session
        return session

    def log_in(self, anonymous: WebSession, token: str, uai: str, operator: bool) -> WebSession:
        """A new session id and CSRF token for the logged-in user (no session fixation)."""
        self.drop(anonymous.id)
        if len(self._logged_in) % 64 == 0:
            self._sweep()
        session = self._session(self._lifetime)
        session.token, session.uai, session.operator = token, uai, operator
        self._logged_in[session.id] = session
        return session

    def drop(self, session_id: str) -> None:
        self._anonymous.pop(session_id, None)
        self._logged_in.pop(session_id, None)

    def _session(self, lifetime: float) -> WebSession:
        return WebSession(
            id=secrets.token_urlsafe(32),
            csrf=secrets.token_urlsafe(32),
            expires_at=self._now() + lifetime,
        )

    def _sweep(self) -> None:
        now = self._now()
        for sessions in (self._anonymous, self._logged_in):
            for key in [k for k, s in sessions.items() if s.expires_at <= now]:
                del sessions[key]


class LoginThrottle:
    """The operator's token form, throttled by the schools' rule (`common.fail2ban`) on the
    web's monotonic clock: `maxretry` failures within `findtime_seconds` from one source address
    suspend it for `bantime_seconds`; a success clears its failures. (A school's login is
    throttled by the console API itself, on the browser's address.)"""

    def __init__(
        self,
        maxretry: int,
        findtime_seconds: float,
        bantime_seconds: float,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._guard = Guard(SecurityPolicy(maxretry, findtime_seconds, bantime_seconds))
        self._now = now

    def retry_after(self, address: str) -> float:
        """Seconds this address must still wait; 0 when it may try."""
        now = self._now()
        suspension = self._guard.suspension(address, now)
        return suspension.until_seconds - now if suspension is not None else 0.0

    def failed(self, address: str) -> None:
        self._guard.record_failure(address, self._now())

    def succeeded(self, address: str) -> None:
        self._guard.unblock(address)
