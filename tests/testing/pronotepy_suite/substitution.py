"""The conftest (loaded with `-p`) under which pronotepy's own test suite runs unmodified
against a school started by the plugin: it only substitutes URLs and logins.

`pronotepy/test_pronotepy.py` builds its clients at import time against Index Education's
public demo (https://demo.index-education.net/pronote/<espace>.html, "demonstration" /
"pronotevs"), so the substitution is installed in `pytest_configure`, before collection imports
the module. Every socket this process opens is checked first: only loopback is allowed, so
nothing can ever reach index-education.net, even through a URL this file did not foresee.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

import pytest

# The demo's espace -> the sample account's role that logs in there.
ROLE_OF_PAGE = {"eleve": "eleve", "parent": "parent", "viescolaire": "vie_scolaire"}


def _loopback_only() -> None:
    """Refuse any connection or name lookup that is not loopback."""
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect

    def loopback(host: Any) -> bool:
        if host in (None, "localhost"):
            return True
        try:
            return ipaddress.ip_address(str(host)).is_loopback
        except ValueError:
            return False

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not loopback(host):
            raise OSError(f"pronote-dc test guard: refused to resolve {host!r} (loopback only)")
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not loopback(address[0]):
            raise OSError(f"pronote-dc test guard: refused to connect to {address!r}")
        real_connect(sock, address)

    socket.getaddrinfo = getaddrinfo
    socket.socket.connect = connect  # type: ignore[method-assign,assignment]


def pytest_configure(config: pytest.Config) -> None:
    _loopback_only()
    import pronotepy.clients

    from pronote_dc_testing.plugin import session_school

    school = session_school(config)
    real_init = pronotepy.clients.ClientBase.__init__

    def init(
        self: Any, pronote_url: str, username: str = "", password: str = "", *rest: Any, **kw: Any
    ) -> None:
        page = urlsplit(pronote_url).path.rsplit("/", 1)[-1].removesuffix(".html")
        if urlsplit(pronote_url).hostname == "demo.index-education.net":
            account = school.account(ROLE_OF_PAGE[page])
            pronote_url, username, password = school.url(page), account.login, account.password
        real_init(self, pronote_url, username, password, *rest, **kw)

    pronotepy.clients.ClientBase.__init__ = init  # type: ignore[method-assign]
