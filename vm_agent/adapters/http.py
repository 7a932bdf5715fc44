"""The school's HTTP ports: `/metrics`, and PRONOTE.net's espaces (`pronote_net.app`).

It runs in the agent's asyncio loop, so a scrape reads the school's state between two gRPC
calls, never during one.

Each port is bound and listening from the school's start (a taken port fails the start), but
its aiohttp application and server are built when its first connection arrives, which waits
in the listen backlog meanwhile (a few ms, once): a school nobody reads or scrapes never pays
the ~1.3 MiB of private memory that building and running them costs a forked school
(DESIGN decision 32, docs/memory.md).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

BACKLOG = 128  # asyncio's and aiohttp's default

log = logging.getLogger("vm_agent")


class HttpBindError(Exception):
    pass


def metrics_app(registry: CollectorRegistry) -> web.Application:
    async def metrics(_: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    return app


class HttpPort:
    """A listening socket whose aiohttp server starts at its first connection."""

    def __init__(self, sock: socket.socket, make_app: Callable[[], web.Application]) -> None:
        self._sock = sock
        self._make_app = make_app
        self._loop = asyncio.get_running_loop()
        self._starting: asyncio.Task[web.AppRunner | None] | None = None
        self._loop.add_reader(sock.fileno(), self._first_connection)

    @property
    def started(self) -> bool:
        """Whether the aiohttp server was built (a connection came)."""
        return self._starting is not None

    def _first_connection(self) -> None:
        self._loop.remove_reader(self._sock.fileno())
        self._starting = self._loop.create_task(self._start())

    async def _start(self) -> web.AppRunner | None:
        try:
            runner = web.AppRunner(self._make_app(), access_log=None)
            await runner.setup()
            await web.SockSite(runner, self._sock).start()  # accepts what waits in the backlog
        except Exception:  # the port then refuses connections; the log says why
            log.exception("the HTTP server of %s could not start", self._sock.getsockname())
            self._sock.close()
            return None
        return runner

    async def cleanup(self) -> None:
        if self._starting is None:
            self._loop.remove_reader(self._sock.fileno())
            self._sock.close()
            return
        runner = await self._starting
        if runner is not None:
            await runner.cleanup()


async def start_http(
    make_app: Callable[[], web.Application],
    address: str,
    port: int,
    what: str = "HTTP, /metrics",
) -> HttpPort:
    """Listen on address:port now; serve `make_app()` from the first connection on (unknown
    paths get aiohttp's 404). HttpBindError if the address cannot be bound."""
    try:
        sock = _listen(address, port)
    except OSError as error:
        raise HttpBindError(
            f"cannot listen on {address}:{port} ({what}): {error.strerror}; stop "
            "whatever holds it, or choose another port"
        ) from None
    sock.setblocking(False)
    return HttpPort(sock, make_app)


def _listen(address: str, port: int) -> socket.socket:
    """A listening TCP socket with asyncio's options (SO_REUSEADDR, no SO_REUSEPORT). A
    numeric address skips getaddrinfo, whose resolver machinery costs a forked school
    ~0.3 MiB of private pages."""
    family = socket.AF_INET
    try:
        socket.inet_pton(socket.AF_INET, address)
    except OSError:
        family = socket.getaddrinfo(address, port, type=socket.SOCK_STREAM)[0][0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock
