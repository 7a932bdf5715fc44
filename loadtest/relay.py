"""Source-address relays on the event loop: one simulated client, one source address.

gRPC Python cannot bind a channel's source address. Each simulated client's channel points at
its own relay listener on 127.0.0.1, and the relay opens the real connection from the client's
loopback address, so the school sees (and counts, and suspends) distinct IPs. Bytes are moved
by asyncio protocols with no thread per connection; backpressure pauses the other side.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import cast


class _Pipe(asyncio.Protocol):
    """One side of a relayed connection; writes what it reads to its peer."""

    def __init__(self, peer: _Pipe | None = None) -> None:
        self.peer = peer
        self.transport: asyncio.Transport | None = None
        self._pending: list[bytes] = []
        self._eof = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def attach(self, peer: _Pipe) -> None:
        """The other side is connected: flush what arrived meanwhile."""
        self.peer = peer
        assert peer.transport is not None
        for chunk in self._pending:
            peer.transport.write(chunk)
        self._pending.clear()
        if self._eof and peer.transport.can_write_eof():
            peer.transport.write_eof()

    def data_received(self, data: bytes) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.write(data)
        else:
            self._pending.append(data)

    def eof_received(self) -> bool:
        self._eof = True
        peer = self.peer.transport if self.peer is not None else None
        if peer is not None and peer.can_write_eof():
            peer.write_eof()
        return True  # half-close: keep the other direction open

    def connection_lost(self, exc: Exception | None) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.close()

    def pause_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.resume_reading()


class Relay:
    """Listens on 127.0.0.1:<free port>; each connection goes to the target from `source_ip`."""

    def __init__(self, source_ip: str, target_host: str, target_port: int) -> None:
        self.source_ip = source_ip
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._pipes: set[_Pipe] = set()
        self.address = ""
        self.failures = 0

    async def start(self) -> str:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._accepted, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.address = f"127.0.0.1:{port}"
        return self.address

    def _accepted(self) -> _Pipe:
        inbound = _Pipe()
        self._pipes.add(inbound)
        task = asyncio.ensure_future(self._open_outbound(inbound))
        task.add_done_callback(lambda _: None)
        return inbound

    async def _open_outbound(self, inbound: _Pipe) -> None:
        loop = asyncio.get_running_loop()
        try:
            _, outbound = await loop.create_connection(
                lambda: _Pipe(inbound), *self._target, local_addr=(self.source_ip, 0)
            )
        except OSError:
            self.failures += 1
            if inbound.transport is not None:
                inbound.transport.close()
            self._pipes.discard(inbound)
            return
        self._pipes.add(outbound)
        inbound.attach(outbound)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for pipe in list(self._pipes):
            if pipe.transport is not None:
                with contextlib.suppress(Exception):
                    pipe.transport.close()
        self._pipes.clear()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
