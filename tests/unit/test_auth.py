"""Console logins: hosting number + password (+ invoice number the first time), scoped tokens."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from common import secrets
from common.clock import SimulatedClock
from common.fail2ban import SecurityPolicy
from datacenter.core.auth import ConsoleAuth, Principal, require_operator, require_school
from datacenter.core.contacts import Responsable
from datacenter.core.errors import Forbidden, Unauthenticated
from datacenter.core.registry import Registry, SchoolRecord

SESSION_SECONDS = 3600.0
UAI = "0750655E"
OTHER_UAI = "0310001A"
HOSTING_NUMBER = "260414100001"
PASSWORD = "Kd7pXw3mZq"
INVOICE = "100001ABCD"


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    registry = Registry(tmp_path / "registry.sqlite3")
    with registry.transaction() as db:
        registry.add_lease("127.60.0.1", UAI, 0.0, db)
        registry.add_school(
            SchoolRecord(
                uai=UAI,
                name="Collège Test",
                formula="50",
                responsable=Responsable("Mme Martin", "612345678", "martin@example.org"),
                administratif_licences=4,
                hosting_number=HOSTING_NUMBER,
                console_password_hash=secrets.hash_secret(PASSWORD),
                invoice_number=INVOICE,
                first_login_done=False,
                agent_secret="agent-secret",
                address="127.60.0.1",
                created_at=0.0,
            ),
            db,
        )
    yield registry
    registry.close()


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(1_000_000.0)


@pytest.fixture
def auth(registry: Registry, clock: SimulatedClock) -> ConsoleAuth:
    return ConsoleAuth(registry, clock, SESSION_SECONDS)


# -- login ---------------------------------------------------------------------------------


def test_first_login_requires_the_invoice_number(auth: ConsoleAuth, registry: Registry) -> None:
    with pytest.raises(Unauthenticated, match="first login also needs the invoice number"):
        auth.login(HOSTING_NUMBER, PASSWORD, "")
    assert not registry.get(UAI).first_login_done


def test_first_login_refuses_a_wrong_invoice_number(auth: ConsoleAuth, registry: Registry) -> None:
    with pytest.raises(Unauthenticated, match="wrong invoice number"):
        auth.login(HOSTING_NUMBER, PASSWORD, "999999ZZZZ")
    assert not registry.get(UAI).first_login_done


def test_first_login_with_invoice_number_gives_a_school_session(
    auth: ConsoleAuth, registry: Registry, clock: SimulatedClock
) -> None:
    login = auth.login(HOSTING_NUMBER, PASSWORD, INVOICE)
    assert login.uai == UAI
    assert login.expires_at_seconds == clock.now() + SESSION_SECONDS
    assert auth.principal(login.token) == Principal(UAI)
    assert registry.get(UAI).first_login_done


def test_later_logins_need_no_invoice_number(auth: ConsoleAuth) -> None:
    auth.login(HOSTING_NUMBER, PASSWORD, INVOICE)
    login = auth.login(HOSTING_NUMBER, PASSWORD, "")
    assert auth.principal(login.token).uai == UAI


def test_hosting_number_is_trimmed(auth: ConsoleAuth) -> None:
    assert auth.login(f" {HOSTING_NUMBER} ", PASSWORD, INVOICE).uai == UAI


def test_wrong_password_is_unauthenticated(auth: ConsoleAuth, registry: Registry) -> None:
    with pytest.raises(Unauthenticated, match="wrong hosting number or password"):
        auth.login(HOSTING_NUMBER, "wrong", INVOICE)
    assert not registry.get(UAI).first_login_done


def test_unknown_hosting_number_is_unauthenticated(auth: ConsoleAuth) -> None:
    with pytest.raises(Unauthenticated, match="wrong hosting number or password"):
        auth.login("000000000000", PASSWORD, INVOICE)


# -- tokens --------------------------------------------------------------------------------


def test_session_token_expires_with_the_clock(auth: ConsoleAuth, clock: SimulatedClock) -> None:
    token = auth.login(HOSTING_NUMBER, PASSWORD, INVOICE).token
    clock.advance(SESSION_SECONDS - 1)
    assert auth.principal(token).uai == UAI
    clock.advance(1)
    with pytest.raises(Unauthenticated, match="expired"):
        auth.principal(token)


def test_unknown_or_empty_token_is_unauthenticated(auth: ConsoleAuth) -> None:
    with pytest.raises(Unauthenticated, match="log in first"):
        auth.principal("")
    with pytest.raises(Unauthenticated, match="unknown or expired"):
        auth.principal(secrets.new_token())


def test_forget_school_ends_its_sessions(auth: ConsoleAuth) -> None:
    token = auth.login(HOSTING_NUMBER, PASSWORD, INVOICE).token
    auth.forget_school(UAI)
    with pytest.raises(Unauthenticated):
        auth.principal(token)


def test_operator_token_file_is_private_and_recognised(auth: ConsoleAuth, tmp_path: Path) -> None:
    path = tmp_path / "operator.token"
    token = auth.ensure_operator_token(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == token
    principal = auth.principal(token)
    assert principal.is_operator
    assert principal.uai is None


def test_operator_token_is_reused_and_stored_only_as_a_digest(
    auth: ConsoleAuth, registry: Registry, tmp_path: Path
) -> None:
    path = tmp_path / "operator.token"
    token = auth.ensure_operator_token(path)
    assert auth.ensure_operator_token(path) == token
    assert registry.get_meta("operator_token_digest") == secrets.token_digest(token)


def test_operator_token_is_recognised_by_a_new_auth(
    auth: ConsoleAuth, registry: Registry, clock: SimulatedClock, tmp_path: Path
) -> None:
    token = auth.ensure_operator_token(tmp_path / "operator.token")
    assert ConsoleAuth(registry, clock, SESSION_SECONDS).principal(token).is_operator


def test_a_school_token_is_not_the_operator(auth: ConsoleAuth, tmp_path: Path) -> None:
    auth.ensure_operator_token(tmp_path / "operator.token")
    token = auth.login(HOSTING_NUMBER, PASSWORD, INVOICE).token
    assert not auth.principal(token).is_operator


# -- scope ---------------------------------------------------------------------------------


def test_require_school_refuses_another_school() -> None:
    with pytest.raises(Forbidden, match=f"belongs to school {UAI} and cannot act on {OTHER_UAI}"):
        require_school(Principal(UAI), OTHER_UAI)


def test_require_school_accepts_its_own_school_and_the_operator() -> None:
    require_school(Principal(UAI), UAI)
    require_school(Principal(None), OTHER_UAI)


def test_require_operator_refuses_a_school() -> None:
    with pytest.raises(Forbidden, match="operator"):
        require_operator(Principal(UAI), "list every school")
    require_operator(Principal(None), "list every school")


# -- throttle (issue 12, point 6) ------------------------------------------------------------


def test_wrong_passwords_suspend_the_source_address_like_a_school(
    registry: Registry, clock: SimulatedClock
) -> None:
    auth = ConsoleAuth(registry, clock, SESSION_SECONDS, SecurityPolicy(3, 600.0, 600.0))
    for _ in range(3):
        with pytest.raises(Unauthenticated):
            auth.login(HOSTING_NUMBER, "wrong", INVOICE, "10.0.0.9")
    with pytest.raises(Forbidden, match=r"too many failed console logins from 10\.0\.0\.9"):
        auth.login(HOSTING_NUMBER, PASSWORD, INVOICE, "10.0.0.9")  # even the right password
    assert auth.login(HOSTING_NUMBER, PASSWORD, INVOICE, "10.0.0.10").uai == UAI  # others: no
    clock.advance(601.0)
    assert auth.login(HOSTING_NUMBER, PASSWORD, "", "10.0.0.9").uai == UAI  # the ban expired


def test_a_console_suspension_survives_a_controller_restart(
    registry: Registry, clock: SimulatedClock, tmp_path: Path
) -> None:
    """Found by a fresh user: a restart lifted the ban (the schools' suspensions survive)."""
    policy = SecurityPolicy(3, 600.0, 600.0)
    auth = ConsoleAuth(registry, clock, SESSION_SECONDS, policy)
    for _ in range(3):
        with pytest.raises(Unauthenticated):
            auth.login(HOSTING_NUMBER, "wrong", INVOICE, "10.0.0.9")
    registry.close()
    reopened = Registry(tmp_path / "registry.sqlite3")  # what the next controller opens
    again = ConsoleAuth(reopened, clock, SESSION_SECONDS, policy)
    with pytest.raises(Forbidden, match=r"too many failed console logins from 10\.0\.0\.9"):
        again.login(HOSTING_NUMBER, PASSWORD, INVOICE, "10.0.0.9")
    clock.advance(601.0)
    assert again.login(HOSTING_NUMBER, PASSWORD, INVOICE, "10.0.0.9").uai == UAI
    reopened.close()
