"""gRPC served once in the warm parent, and shut down, before it forks any school (DESIGN
decision 37).

gRPC initialises much of itself once per process and keeps it after its shutdown: its core's
configuration registries (channel arguments, resolvers, load-balancing policies, service-config
parsers, handshakers), the Cython module's caches, what CPython specializes in the code of
`grpc.aio` and of the health service. Done first in each school, it cost the school ~0.8 MiB of
private pages (`bench.school_memory`, 200 plain schools: 7.65 -> 6.87 MiB PSS a school, the
bare `grpc.aio` baseline 4.97 -> ~4.7); done here once, those pages stay shared.

Why forking afterwards is safe: gRPC's threads (the event engine's, the timer's, the aio
poller) exist only while gRPC is initialised. `grpc.aio` initialises it when the first server
is made and shuts it down, joining its threads, when the last one is gone (`init_grpc_aio` /
`shutdown_grpc_aio`, reference counted). A fork with those threads alive would give the school
locks held by threads it does not have (PERFORMANCE.md, traps), so `warm()` checks that this
process has one thread left, and raises `ThreadsLeft` otherwise.
"""

from __future__ import annotations

import asyncio
import gc
import os
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio  # type: ignore[attr-defined]

from common.school_grpc import SCHOOL_SERVER_OPTIONS

THREADS_GONE_SECONDS = 2.0  # gRPC joins its threads at shutdown: a bound, not a wait
_SERVER_OPTIONS = list(SCHOOL_SERVER_OPTIONS)  # as a school's (vm_agent.server)


class ThreadsLeft(RuntimeError):
    """gRPC's threads were still running `THREADS_GONE_SECONDS` after its shutdown."""


def warm() -> None:
    """Serve a `grpc.aio` server with the health service on 127.0.0.1 (a port the kernel
    chooses), call its health check once as the controller calls a school's, stop it, and wait
    for gRPC's threads to end. Takes ~50 ms.

    Raises ThreadsLeft if gRPC's threads are still alive after `THREADS_GONE_SECONDS`, and
    what gRPC raises if it cannot serve on 127.0.0.1 (RuntimeError, grpc.aio.AioRpcError):
    in either case forking schools from this process is unsafe or untried."""
    asyncio.run(_serve_once())
    gc.collect()  # the server's last references: grpc.aio shuts gRPC down with them
    deadline = time.monotonic() + THREADS_GONE_SECONDS
    while (threads := _threads()) > 1:
        if time.monotonic() > deadline:
            raise ThreadsLeft(f"{threads - 1} gRPC threads still running after its shutdown")
        time.sleep(0.01)


async def _serve_once() -> None:
    server = grpc.aio.server(options=_SERVER_OPTIONS)
    health_pb2_grpc.add_HealthServicer_to_server(health_aio.HealthServicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    if port == 0:
        raise RuntimeError("cannot listen on 127.0.0.1 to warm gRPC")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=10
            )
    finally:
        await server.stop(None)


def _threads() -> int:
    return len(os.listdir("/proc/self/task"))
