"""The web console's sessions and login throttle (datacenter.adapters.console_web.security)."""

from __future__ import annotations

from pathlib import Path

import pytest

from datacenter.adapters.console_web.security import MAX_ANONYMOUS, LoginThrottle, WebSessions
from datacenter.core.errors import InvalidArgument
from datacenter.core.settings import Settings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_maxretry_failures_within_findtime_suspend_for_bantime() -> None:
    clock = Clock()
    throttle = LoginThrottle(maxretry=3, findtime_seconds=60, bantime_seconds=600, now=clock)
    for _ in range(2):
        throttle.failed("10.0.0.1")
    assert throttle.retry_after("10.0.0.1") == 0
    throttle.failed("10.0.0.1")
    assert throttle.retry_after("10.0.0.1") == 600
    assert throttle.retry_after("10.0.0.2") == 0  # another address is not concerned
    clock.now += 600
    assert throttle.retry_after("10.0.0.1") == 0


def test_failures_older_than_findtime_do_not_count_and_a_success_clears_them() -> None:
    clock = Clock()
    throttle = LoginThrottle(maxretry=3, findtime_seconds=60, bantime_seconds=600, now=clock)
    throttle.failed("a")
    throttle.failed("a")
    clock.now += 61
    throttle.failed("a")
    assert throttle.retry_after("a") == 0
    throttle.succeeded("a")
    throttle.failed("a")
    throttle.failed("a")
    assert throttle.retry_after("a") == 0


def test_a_login_gets_a_new_session_id_and_csrf_token_and_sessions_expire() -> None:
    clock = Clock()
    sessions = WebSessions(lifetime_seconds=100, now=clock)
    anonymous = sessions.new()
    logged = sessions.log_in(anonymous, "token", "0750655E", operator=False)
    assert logged.id != anonymous.id and logged.csrf != anonymous.csrf
    assert sessions.get(anonymous.id) is None
    assert sessions.get(logged.id) is logged and logged.logged_in
    assert logged.csrf_ok(logged.csrf) and not logged.csrf_ok("") and not logged.csrf_ok("x")
    clock.now += 100
    assert sessions.get(logged.id) is None


def test_tls_needs_both_files_and_says_which_are_wrong(tmp_path: Path) -> None:
    assert Settings().http_tls() is None
    with pytest.raises(InvalidArgument, match="both"):
        Settings(http_tls_certificate="cert.pem").http_tls()
    (tmp_path / "cert.pem").write_text("not a certificate")
    (tmp_path / "key.pem").write_text("not a key")
    broken = Settings(
        http_tls_certificate=str(tmp_path / "cert.pem"), http_tls_key=str(tmp_path / "key.pem")
    )
    with pytest.raises(InvalidArgument, match="PEM certificate"):
        broken.http_tls()


def test_a_flood_of_anonymous_sessions_costs_bounded_memory_and_spares_logins() -> None:
    sessions = WebSessions(lifetime_seconds=8 * 3600, now=Clock())
    logged = sessions.log_in(sessions.new(), "token", "0750655E", operator=False)
    for _ in range(MAX_ANONYMOUS + 500):
        sessions.new()
    assert len(sessions._anonymous) <= MAX_ANONYMOUS
    assert sessions.get(logged.id) is logged
