"""The mobile app's logins through the real path: pronotepy's QR code (request_qr_code_data ->
qrcode_login -> token_login), pawnote's credentials then token login and `instance()`; a wrong
PIN, an expired QR code (simulated clock) and a token revoked by a password change are refused
and count toward the IP suspension like a wrong password."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pronotepy
import pytest

from common.pronote_net import aes_encrypt, md5
from tests.integration.harness import free_pool
from tests.integration.pronote_net_helpers import Espaces, pawnote_dir, run_acts, serve_espaces

DEVICE = "pronote-dc-test-device"


@pytest.fixture
def espaces() -> Iterator[Espaces]:
    block = ipaddress.ip_network(free_pool(first_octets="127.133"))
    with serve_espaces(str(block[1]), maxretry=5) as served:
        yield served


def student(espaces: Espaces) -> pronotepy.Client:
    login = espaces.login_of("eleve.")
    client = pronotepy.Client(espaces.url("eleve.html"), login, espaces.passwords[login])
    assert client.logged_in
    return client


def test_qr_code_login_then_token_login_with_pronotepy(espaces: Espaces) -> None:
    qr = student(espaces).request_qr_code_data("1234")
    assert qr["url"].endswith("/mobile.eleve.html")
    app = pronotepy.Client.qrcode_login(qr, "1234", DEVICE)  # then token_login (securisation)
    assert app.logged_in and app.login_mode == "token"
    first_token = app.password
    again = pronotepy.Client.token_login(**app.export_credentials())
    assert again.logged_in and again.password != first_token  # the next token
    assert again.info.name == app.info.name
    stale = pronotepy.Client.token_login(**{**app.export_credentials(), "password": first_token})
    assert not stale.logged_in  # a used token is refused
    with pytest.raises(pronotepy.QRCodeDecryptError):  # the PIN never leaves the phone
        pronotepy.Client.qrcode_login(qr, "9999", DEVICE)
    assert espaces.school.authentication_failures == 1  # the stale token


def test_an_expired_or_used_qr_code_and_a_forged_one_are_refused_and_counted(
    espaces: Espaces,
) -> None:
    web = student(espaces)
    qr = web.request_qr_code_data("4321")
    espaces.clock.advance(601)  # a QR code is valid 10 minutes
    expired = pronotepy.Client.qrcode_login(qr, "4321", DEVICE, skip_2fa=True)
    assert not expired.logged_in
    fresh = student(espaces).request_qr_code_data("4321")
    key = md5(b"4321")
    forged = {**fresh, "jeton": aes_encrypt(key, bytes(16), b"guessed").hex()}  # a wrong jeton
    assert not pronotepy.Client.qrcode_login(forged, "4321", DEVICE, skip_2fa=True).logged_in
    assert pronotepy.Client.qrcode_login(fresh, "4321", DEVICE).logged_in
    assert not pronotepy.Client.qrcode_login(fresh, "4321", DEVICE, skip_2fa=True).logged_in
    assert espaces.school.authentication_failures == 3  # expired, forged, used again


def test_a_password_change_revokes_the_tokens(espaces: Espaces) -> None:
    app = pronotepy.Client.qrcode_login(
        student(espaces).request_qr_code_data("1111"), "1111", DEVICE
    )
    login = espaces.login_of("eleve.")
    espaces.school.issue_password(login, "a-new-password")
    failures = espaces.school.authentication_failures
    assert not pronotepy.Client.token_login(**app.export_credentials()).logged_in
    assert espaces.school.authentication_failures == failures + 1  # like a wrong password


def test_pawnote_instance_credentials_then_token(espaces: Espaces, tmp_path: Path) -> None:
    modules = pawnote_dir(tmp_path)
    login = espaces.login_of("eleve.")
    first = run_acts(modules, url=espaces.url(""), kind="STUDENT", username=login,
                password=espaces.passwords[login], deviceUUID=DEVICE,
                steps=["instance"])  # fmt: skip
    assert "error" not in first, first
    assert first["instance"]["name"] == espaces.school.identity.name
    assert {"name": "Espace Élèves", "path": "mobile.eleve.html"} in first["instance"]["accounts"]
    assert first["token"]
    second = run_acts(modules, url=espaces.url(""), kind="STUDENT", username=login,
                 token=first["token"], deviceUUID=DEVICE, steps=[])  # fmt: skip
    assert "error" not in second, second
    assert second["name"] == first["name"] and second["token"] not in (None, first["token"])
    reused = run_acts(modules, url=espaces.url(""), kind="STUDENT", username=login,
                 token=first["token"], deviceUUID=DEVICE, steps=[])  # fmt: skip
    assert reused["error"] == "BadCredentialsError"


def test_pawnote_qr_login_and_a_wrong_pin_counts_as_a_failed_login(
    espaces: Espaces, tmp_path: Path
) -> None:
    modules = pawnote_dir(tmp_path)
    web = student(espaces)
    good = run_acts(modules, qr=web.request_qr_code_data("2468"), pin="2468", deviceUUID=DEVICE)
    assert "error" not in good, good
    assert good["name"] == web.info.name and good["token"]
    assert espaces.school.authentication_failures == 0
    wrong = run_acts(modules, qr=web.request_qr_code_data("2468"), pin="1357", deviceUUID=DEVICE)
    assert wrong["error"] == "BadCredentialsError"
    assert espaces.school.authentication_failures == 1  # like a wrong password
