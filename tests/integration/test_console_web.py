"""The web console's HTTP security, without a browser: headers, cookie flags under TLS, the
login throttle, CSRF on the login form, and nothing secret in the controller's log."""

from __future__ import annotations

import datetime
import http.cookiejar
import re
import ssl
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from protos import console_pb2, console_pb2_grpc
from tests.integration.harness import Datacenter, free_pool, running_datacenter


class Browser:
    """urllib with a cookie jar: what a browser sends, minus the rendering."""

    def __init__(self, base: str, context: ssl.SSLContext | None = None) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        handlers: list[urllib.request.BaseHandler] = [urllib.request.HTTPCookieProcessor(self.jar)]
        if context is not None:
            handlers.append(urllib.request.HTTPSHandler(context=context))
        self.opener = urllib.request.build_opener(*handlers)

    def get(self, path: str) -> tuple[int, dict[str, str], str]:
        return self._send(urllib.request.Request(self.base + path))

    def post(self, path: str, fields: dict[str, str]) -> tuple[int, dict[str, str], str]:
        data = urllib.parse.urlencode(fields).encode()
        return self._send(urllib.request.Request(self.base + path, data=data))

    def _send(self, request: urllib.request.Request) -> tuple[int, dict[str, str], str]:
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read().decode()

    def csrf(self, path: str = "/console/") -> str:
        _, _, body = self.get(path)
        found = re.search(r'name="csrf" value="([^"]+)"', body)
        assert found, body[:500]
        return found.group(1)


def test_pages_carry_a_strict_csp_and_the_login_needs_its_csrf_token(
    datacenter: Datacenter,
) -> None:
    browser = Browser(f"http://{datacenter.http_address}")
    status, headers, body = browser.get("/console/")
    assert status == 200
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "<script>" not in body and " on" + "click=" not in body  # no inline script
    assert headers["X-Frame-Options"] == "DENY"
    cookie = headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    status, _, _ = browser.get("/console/static/htmx.min.js")
    assert status == 200

    school = datacenter.provision("0750401")
    fields = {
        "hosting_number": school.school.hosting_number,
        "password": school.console_password,
        "invoice_number": school.school.invoice_number,
    }
    status, _, body = browser.post("/console/connexion", fields)
    assert status == 403 and "jeton CSRF" in body
    status, _, body = browser.post("/console/connexion", {**fields, "csrf": browser.csrf()})
    assert status == 200 and school.school.name in body  # followed to Accueil


def test_failed_logins_suspend_the_source_address(datacenter: Datacenter) -> None:
    """fail2ban semantics (PRONOTE_DC_MAXRETRY=5 by default), counted by the console API on the
    browser's address: the sixth attempt is refused even with the right password (429, with the
    API's message), and the CLI's gRPC login from that same address is refused too (one count
    per address). A gRPC caller cannot name another address without the front-end token."""
    school = datacenter.provision("0750402")
    browser = Browser(f"http://{datacenter.http_address}")
    wrong = {"hosting_number": school.school.hosting_number, "password": "nope"}
    for _ in range(5):
        status, _, body = browser.post("/console/connexion", {**wrong, "csrf": browser.csrf()})
        assert status == 401 and "wrong hosting number or password" in body
    right = {
        "hosting_number": school.school.hosting_number,
        "password": school.console_password,
        "invoice_number": school.school.invoice_number,
        "csrf": browser.csrf(),
    }
    status, _, body = browser.post("/console/connexion", right)
    assert status == 429 and "too many failed console logins from 127.0.0.1" in body
    login = console_pb2.LoginRequest(
        hosting_number=school.school.hosting_number,
        password=school.console_password,
        invoice_number=school.school.invoice_number,
    )
    stub = console_pb2_grpc.ConsoleStub(grpc.insecure_channel(datacenter.console_address))
    for metadata in ((), (("x-pronote-dc-forwarded-for", "127.9.9.9"),)):
        with pytest.raises(grpc.RpcError) as refused:
            stub.Login(login, metadata=metadata, timeout=30)
        assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED
        assert "from 127.0.0.1" in (refused.value.details() or "")


def test_the_operator_form_is_throttled_too(datacenter: Datacenter) -> None:
    browser = Browser(f"http://{datacenter.http_address}")
    form = "/console/operateur/connexion"
    for _ in range(5):
        status, _, _ = browser.post(form, {"token": "nope", "csrf": browser.csrf(form)})
        assert status == 401
    status, _, body = browser.post(
        form, {"token": datacenter.operator_token, "csrf": browser.csrf(form)}
    )
    assert status == 429 and "réessayez dans 10 min" in body


def test_nothing_secret_reaches_a_url_or_the_log(datacenter: Datacenter) -> None:
    school = datacenter.provision("0750403")
    browser = Browser(f"http://{datacenter.http_address}")
    status, _, body = browser.post(
        "/console/operateur/connexion",
        {"token": datacenter.operator_token, "csrf": browser.csrf("/console/operateur/connexion")},
    )
    assert status == 200 and school.school.uai in body
    session = next(c.value for c in browser.jar if c.name == "pdc_console")
    assert datacenter.operator_token not in body and datacenter.operator_token not in session
    assert not re.search(r"href=\"[^\"]*(token|password|csrf)=", body)
    log = datacenter.log()
    for secret in (datacenter.operator_token, session, school.console_password):
        assert secret not in log


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "console.crt", directory / "console.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_under_tls_the_session_cookie_is_secure(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    with running_datacenter(
        tmp_path, free_pool(), http_tls_certificate=str(cert), http_tls_key=str(key)
    ) as dc:
        context = ssl.create_default_context(cafile=str(cert))
        context.check_hostname = False
        browser = Browser(f"https://{dc.http_address}", context)
        status, headers, _ = browser.get("/console/")
        assert status == 200
        assert "Secure" in headers["Set-Cookie"] and "HttpOnly" in headers["Set-Cookie"]
        assert headers["Strict-Transport-Security"].startswith("max-age=")
        status, _, body = browser.get("/metrics")
        assert status == 200 and "pronote_fleet_schools" in body
        refused = Browser(f"http://{dc.http_address}").get
        try:
            refused("/console/")
        except (urllib.error.URLError, ConnectionError):
            pass  # plain HTTP on the TLS port: no page
        else:
            raise AssertionError("plain HTTP was answered on the TLS port")


def _multipart(fields: list[tuple[str, str]], file_name: str, data: bytes) -> tuple[bytes, str]:
    boundary = "pdc-test-boundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{file_name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def test_charger_une_base_works_without_javascript(datacenter: Datacenter, tmp_path: Path) -> None:
    """The upload form posts as plain HTML (CSRF token as its first field) and the page that
    answers shows the API's summary; without the token nothing is sent to the school."""
    school = datacenter.provision("0750404")
    record = school.school
    datacenter.cli("hnot", "generate", "--uai", record.uai, "--hosting-number",
                   record.hosting_number, "-o", str(tmp_path))  # fmt: skip
    hnot = next(tmp_path.glob("*.HNOT"))
    browser = Browser(f"http://{datacenter.http_address}")
    fields = {
        "hosting_number": record.hosting_number,
        "password": school.console_password,
        "invoice_number": record.invoice_number,
        "csrf": browser.csrf(),
    }
    assert browser.post("/console/connexion", fields)[0] == 200
    csrf = browser.csrf(f"/console/ecoles/{record.uai}/serveur")
    status, _, _ = browser.post(f"/console/ecoles/{record.uai}/serveur/arreter", {"csrf": csrf})
    assert status == 200

    path = f"/console/ecoles/{record.uai}/serveur/fichier"
    body, content_type = _multipart([("operation", "load")], hnot.name, hnot.read_bytes())
    status, _, _ = browser._send(
        urllib.request.Request(
            browser.base + path, data=body, headers={"Content-Type": content_type}
        )
    )
    assert status == 403
    body, content_type = _multipart(
        [("csrf", csrf), ("operation", "load")], hnot.name, hnot.read_bytes()
    )
    status, _, page = browser._send(
        urllib.request.Request(
            browser.base + path, data=body, headers={"Content-Type": content_type}
        )
    )
    assert status == 200 and "Charger une base (.HNOT) :" in page
    other = datacenter.cli("console", "serveur", "other-bases", "--uai", record.uai, "--json")
    assert other.stdout.count("depuis l'établissement") == 1
