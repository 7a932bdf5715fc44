"""An espace delegated to an ENT behaves like PRONOTE's front end: its page answers a 302 to
the ENT's CAS login with the espace's URL as the service; `?login=true` shows PRONOTE's own
form only while "Autoriser l'authentification directe" is checked. Real sockets, the real
pronotepy and pawnote."""

from __future__ import annotations

import http.client
import ipaddress
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import pronotepy
import pytest

from tests.integration.harness import free_pool
from tests.integration.pronote_net_helpers import (
    Espaces,
    pawnote_dir,
    run_acts,
    run_pawnote,
    serve_espaces,
)
from vm_agent.domain.delegation import new_delegation

CAS = "https://cas.ecollege31.example.net/cas/login"


@pytest.fixture
def espaces() -> Iterator[Espaces]:
    block = ipaddress.ip_network(free_pool(first_octets="127.132"))
    with serve_espaces(str(block[1])) as served:
        yield served


def get(espaces: Espaces, page: str, query: str = "") -> tuple[int, str]:
    """(status, Location) of a GET, redirects not followed."""
    connection = http.client.HTTPConnection(espaces.address, espaces.port, timeout=10)
    try:
        connection.request("GET", urlsplit(espaces.url(page, query)).path + query)
        reply = connection.getresponse()
        reply.read()
        return reply.status, reply.getheader("Location") or ""
    finally:
        connection.close()


def delegate(espaces: Espaces, allow_direct: bool) -> None:
    publication = espaces.school.publication
    publication.stop()
    publication.delegate(new_delegation("", "ecollege31", {}, ["eleve"], allow_direct))
    publication.start()


@pytest.mark.parametrize("allow_direct", [False, True])
def test_a_delegated_espace_redirects_to_the_ent_s_cas_login(
    espaces: Espaces, allow_direct: bool
) -> None:
    delegate(espaces, allow_direct)
    for page in ("eleve.html", "mobile.eleve.html"):
        service = quote(espaces.url(page), safe="")
        assert get(espaces, page) == (302, f"{CAS}?service={service}")
        direct = get(espaces, page, "?login=true")
        assert direct == ((200, "") if allow_direct else (302, f"{CAS}?service={service}"))
    assert get(espaces, "parent.html") == (200, "")  # not delegated
    login = espaces.login_of("eleve.")
    url = espaces.url("eleve.html", "?login=true")
    if allow_direct:
        assert pronotepy.Client(url, login, espaces.passwords[login]).logged_in
    assert espaces.school.web_sessions.logged_in() == [] or allow_direct  # no page opened


def test_pawnote_sees_the_redirect_instead_of_a_page(espaces: Espaces, tmp_path: Path) -> None:
    modules = pawnote_dir(tmp_path)
    delegate(espaces, False)
    login = espaces.login_of("eleve.")
    result = run_pawnote(modules, url=espaces.url(""), kind="STUDENT", username=login,
                         password=espaces.passwords[login], week=5)  # fmt: skip
    assert result["error"] == "PageUnavailableError"  # no PRONOTE page behind a 302
    app = run_acts(modules, url=espaces.url(""), steps=["instance"])
    assert app["instance"]["casURL"] == "https://cas.ecollege31.example.net/cas/"
    delegate(espaces, True)
    result = run_pawnote(modules, url=espaces.url(""), kind="STUDENT", username=login,
                         password=espaces.passwords[login], week=5)  # fmt: skip
    assert "error" not in result, result
