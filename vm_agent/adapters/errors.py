"""Domain refusals -> gRPC status codes (DESIGN decision 8)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc

from vm_agent.adapters.slot import NotReady
from vm_agent.backups import Corrupt
from vm_agent.domain import errors

STATUS_OF = {
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    errors.WrongState: grpc.StatusCode.FAILED_PRECONDITION,
    errors.BadCredentials: grpc.StatusCode.UNAUTHENTICATED,
    errors.Forbidden: grpc.StatusCode.PERMISSION_DENIED,
    errors.LicencesExhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
    NotReady: grpc.StatusCode.UNAVAILABLE,
    Corrupt: grpc.StatusCode.DATA_LOSS,
}

Method = TypeVar("Method", bound=Callable[..., Awaitable[Any]])
# A status message travels in a header (gRPC refuses past ~8 KiB, as RESOURCE_EXHAUSTED): one
# that echoes input (a 100 kB login in a .profils) is cut, so the refusal stays itself.
MAX_DETAILS_CHARS = 2000


def details(message: str) -> str:
    return message if len(message) <= MAX_DETAILS_CHARS else message[:MAX_DETAILS_CHARS] + "…"


def translated(method: Method) -> Method:
    @functools.wraps(method)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            return await method(self, request, context)
        except errors.AgentError as error:
            await context.abort(
                STATUS_OF.get(type(error), grpc.StatusCode.UNKNOWN), details(str(error))
            )

    return wrapper  # type: ignore[return-value]


def peer_ip(context: grpc.aio.ServicerContext) -> str:
    """'ipv4:127.0.0.1:5555' -> '127.0.0.1'; 'ipv6:[::1]:5555' -> '::1'."""
    peer = context.peer()
    _, _, rest = peer.partition(":")
    host, _, _ = rest.rpartition(":")
    return host.strip("[]") or peer
