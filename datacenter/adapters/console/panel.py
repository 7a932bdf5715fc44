"""What every part of the Console API shares: the one way an RPC is written, and what
`ConsoleService` provides to the panels mixed into it.

An RPC is a method named after it, decorated with `@translated`: core errors become gRPC
status codes (DESIGN decision 8) and a school agent's refusal is passed through unchanged.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc

from datacenter.adapters.agents import AgentDirectory
from datacenter.core import errors
from datacenter.core.auth import Principal
from datacenter.core.fleet import Fleet
from datacenter.core.registry import SchoolRecord
from datacenter.core.scheduler import Scheduler

STATUS_OF = {
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    errors.Exhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    errors.Forbidden: grpc.StatusCode.PERMISSION_DENIED,
    errors.WrongState: grpc.StatusCode.FAILED_PRECONDITION,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
}
Method = TypeVar("Method", bound=Callable[..., Awaitable[Any]])
Context = grpc.aio.ServicerContext[Any, Any]


def translated(method: Method) -> Method:
    """An RPC: a core refusal becomes its status code, a school agent's passes through."""

    @functools.wraps(method)
    async def wrapper(self: Any, request: Any, context: Context) -> Any:
        try:
            return await method(self, request, context)
        except errors.DatacenterError as error:
            code = next(
                (STATUS_OF[kind] for kind in type(error).__mro__ if kind in STATUS_OF),
                grpc.StatusCode.UNKNOWN,
            )  # a subclass (TimedOut) has its parent's code
            await context.abort(code, details(str(error)))
        except grpc.aio.AioRpcError as error:  # from the school's agent
            if error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                await context.abort(
                    grpc.StatusCode.UNAVAILABLE,
                    "the school's server is not answering; the controller restarts it within "
                    "seconds, retry then",
                )
            await context.abort(error.code(), details(error.details() or ""))
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is None or task.cancelling():
                raise  # this call itself was cancelled: its client went away
            # A call to the school cancelled under it (its channel closed): answered, or
            # grpc.aio sends nothing and the client waits for its deadline (DESIGN 47).
            await context.abort(
                grpc.StatusCode.UNAVAILABLE,
                "the school's server moved or was started again during the call; retry",
            )

    return wrapper  # type: ignore[return-value]


class ConsolePanel:
    """A panel's RPCs are mixed into ConsoleService, which provides these."""

    _agents: AgentDirectory
    _fleet: Fleet
    _client_port: int
    _scheduler: Scheduler | None

    def _principal(self, context: Context) -> Principal:
        """Who calls (a school's login or the operator); UNAUTHENTICATED otherwise."""
        raise NotImplementedError

    def _authorized_uai(self, context: Context, uai: str) -> str:
        """The UAI a per-school call acts on (the caller's own if none is given)."""
        raise NotImplementedError

    def _school(self, context: Context, uai: str) -> SchoolRecord:
        """The school a per-school call acts on, once the caller may act on it."""
        raise NotImplementedError

    async def _forward(self, context: Context, uai: str, method: str, request: Any) -> Any:
        """Authorize, then make the same call on the school's agent."""
        raise NotImplementedError


# A status message travels in a header (gRPC refuses past ~8 KiB, as RESOURCE_EXHAUSTED): one
# that echoes input is cut, so the refusal keeps its own code (issue 12, point 5).
MAX_DETAILS_CHARS = 2000


def details(message: str) -> str:
    return message if len(message) <= MAX_DETAILS_CHARS else message[:MAX_DETAILS_CHARS] + "…"


# The web console names the browser's address in these (trusted only with the front-end token).
FRONT_END_METADATA = "x-pronote-dc-front-end"
FORWARDED_FOR_METADATA = "x-pronote-dc-forwarded-for"


def peer_ip(peer: str) -> str:
    """gRPC's peer -> the caller's address: 'ipv4:127.0.0.1:5555' -> '127.0.0.1',
    'ipv6:[::1]:5555' -> '::1' (what the console login throttles on)."""
    _, _, rest = peer.partition(":")
    host, _, _ = rest.rpartition(":")
    return host.strip("[]") or peer
