"""The asyncio source-address relay: the server sees the chosen address, bytes flow both ways."""

from __future__ import annotations

import asyncio
import random

from loadtest.relay import Relay


async def _echo_peer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    peer = writer.get_extra_info("peername")[0]
    data = await reader.read()  # until the client half-closes
    writer.write(f"{peer}|".encode() + data)
    await writer.drain()
    writer.close()


async def _exchange(address: str, payload: bytes) -> bytes:
    host, port = address.rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(payload)
    await writer.drain()
    writer.write_eof()
    reply = await reader.read()
    writer.close()
    return reply


def test_each_relay_connects_from_its_own_address_and_carries_large_payloads() -> None:
    async def scenario() -> list[bytes]:
        server = await asyncio.start_server(_echo_peer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        base = f"127.91.{random.randrange(256)}"
        relays = [Relay(f"{base}.{n}", "127.0.0.1", port) for n in (1, 2)]
        try:
            addresses = [await relay.start() for relay in relays]
            payload = bytes(range(256)) * 4096  # 1 MiB: exercises backpressure
            return await asyncio.gather(*(_exchange(a, payload) for a in addresses))
        finally:
            for relay in relays:
                await relay.close()
            server.close()

    replies = asyncio.run(scenario())
    payload = bytes(range(256)) * 4096
    peers = [reply.split(b"|", 1)[0].decode() for reply in replies]
    assert peers[0].endswith(".1") and peers[1].endswith(".2") and peers[0] != peers[1]
    assert all(reply.split(b"|", 1)[1] == payload for reply in replies)


def test_a_relay_whose_target_refuses_closes_the_client_side() -> None:
    async def scenario() -> tuple[bytes, int]:
        relay = Relay("127.91.0.1", "127.0.0.1", 1)  # nothing listens on port 1
        address = await relay.start()
        try:
            try:
                reply = await _exchange(address, b"hello")
            except ConnectionResetError:  # closed with unread bytes: the kernel resets
                reply = b""
            return reply, relay.failures
        finally:
            await relay.close()

    assert asyncio.run(scenario()) == (b"", 1)
