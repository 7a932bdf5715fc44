"""The console gRPC API as the web console calls it: the same API, tokens and refusals as the CLI.

Every page asks this client; nothing here decides who may see what: the API scopes each call
to the token's school (or the operator) and the web layer shows its refusals as they come.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc

from datacenter.adapters.console.panel import FORWARDED_FOR_METADATA, FRONT_END_METADATA
from protos import common_pb2, console_pb2_grpc

# gRPC status -> HTTP status of the page that met it (docs/console-web.md, "Refusals").
HTTP_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}
UPLOAD_CHUNK_BYTES = 256 * 1024
TIMEOUT_SECONDS = 60.0


class Refused(Exception):
    """The console API refused a call: `code` is its gRPC status, `message` its own words."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def http_status(self) -> int:
        return HTTP_STATUS.get(self.code, 500)


class ConsoleApi:
    """One gRPC channel to the controller's console API, opened on first use.

    `address` is called at each channel opening: the controller knows its console address only
    once its gRPC server listens (`host:port`; a wildcard host is reached on loopback).
    """

    def __init__(self, address: Callable[[], str], front_end_token: str = "") -> None:
        self._address = address
        self._front_end_token = front_end_token
        self._channel: grpc.aio.Channel | None = None
        self._stub: Any = None

    def _console(self) -> Any:
        if self._stub is None:
            host, _, port = self._address().rpartition(":")
            if host in ("", "0.0.0.0", "[::]", "::"):
                host = "127.0.0.1"
            self._channel = grpc.aio.insecure_channel(f"{host}:{port}")
            self._stub = console_pb2_grpc.ConsoleStub(self._channel)
        return self._stub

    async def call(
        self, method: str, request: Any, token: str = "", forwarded_for: str = ""
    ) -> Any:
        """`Console.<method>(request)` with the session's token; raises `Refused`.
        `forwarded_for` is the browser's address, for the API's login throttle."""
        metadata: tuple[tuple[str, str], ...] = (
            (("authorization", f"Bearer {token}"),) if token else ()
        )
        if forwarded_for and self._front_end_token:
            metadata += (
                (FRONT_END_METADATA, self._front_end_token),
                (FORWARDED_FOR_METADATA, forwarded_for),
            )
        rpc = getattr(self._console(), method)
        try:
            return await rpc(request, metadata=metadata, timeout=TIMEOUT_SECONDS)
        except grpc.aio.AioRpcError as error:
            raise refusal(error) from None

    async def upload(
        self, token: str, first: common_pb2.BaseFileChunk, data: AsyncIterator[bytes]
    ) -> common_pb2.BaseFileReply:
        """`UploadBaseFile`: `first` (what the file is) then every chunk of `data` as it comes,
        so a file of any size crosses the web layer in `UPLOAD_CHUNK_BYTES` pieces."""

        async def chunks() -> AsyncIterator[common_pb2.BaseFileChunk]:
            head = common_pb2.BaseFileChunk()
            head.CopyFrom(first)
            sent_head = False
            async for piece in data:
                if not sent_head:
                    head.data = piece
                    yield head
                    sent_head = True
                else:
                    yield common_pb2.BaseFileChunk(data=piece)
            if not sent_head:
                yield head

        metadata = (("authorization", f"Bearer {token}"),)
        try:
            reply: common_pb2.BaseFileReply = await self._console().UploadBaseFile(
                chunks(), metadata=metadata, timeout=600.0
            )
        except grpc.aio.AioRpcError as error:
            raise refusal(error) from None
        return reply

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close(None)
        self._channel = self._stub = None


def refusal(error: grpc.aio.AioRpcError) -> Refused:
    code = error.code()
    details = error.details() or ""
    if code is grpc.StatusCode.UNAVAILABLE and not details:
        details = "the console API is not answering; is the controller running?"
    return Refused(code, details)
