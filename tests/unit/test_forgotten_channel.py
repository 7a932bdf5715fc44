"""A school's channel forgotten while a call is on it (the school moved during a swarm drain,
or is started again): the call still gets its answer, and a console call whose call to the
school is cancelled anyway is answered UNAVAILABLE, not left to its client's deadline
(DESIGN 47: CI's drain test waited 30 s for a `GetSchool`). Real gRPC servers on loopback."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2

from datacenter.adapters.agents import AgentDirectory
from datacenter.adapters.console.panel import translated
from datacenter.core.contacts import Responsable
from datacenter.core.registry import SchoolRecord
from protos import agent_pb2, agent_pb2_grpc, common_pb2


class SlowAgent(agent_pb2_grpc.AgentServicer):
    """Answers GetPublication once `release` is set."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.asked = asyncio.Event()

    async def GetPublication(self, request: agent_pb2.Empty, context: Any) -> Any:
        self.asked.set()
        await self.release.wait()
        return common_pb2.Publication(published=True)


def school() -> SchoolRecord:
    return SchoolRecord(
        uai="0750001A",
        name="Collège",
        formula="30",
        responsable=Responsable("Test", "0612345678", "ce@example.org"),
        administratif_licences=4,
        hosting_number="",
        console_password_hash="",
        invoice_number="",
        first_login_done=False,
        agent_secret="s3cret",
        address="127.0.0.1",
        created_at=0.0,
    )


def test_a_call_in_flight_on_a_forgotten_channel_gets_its_answer() -> None:
    async def scenario() -> None:
        agent, record = SlowAgent(), school()
        server = grpc.aio.server()
        agent_pb2_grpc.add_AgentServicer_to_server(agent, server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        directory = AgentDirectory(port)
        try:
            call = asyncio.ensure_future(
                directory.stub(record).GetPublication(agent_pb2.Empty(), timeout=10)
            )
            await asyncio.wait_for(agent.asked.wait(), 10)
            await directory.forget(record.uai)  # the school moved: a new channel next time
            agent.release.set()
            reply = await asyncio.wait_for(call, 10)  # not CancelledError
            assert reply.published
            # The next call opens a new channel, and the old one is closed once idle.
            assert (
                await directory.stub(record).GetPublication(agent_pb2.Empty(), timeout=10)
            ).published
        finally:
            await directory.close()
            await server.stop(0)

    asyncio.run(scenario())


class Panel:
    """A console handler whose call to a school is cancelled under it."""

    @translated
    async def Check(self, request: Any, context: Any) -> Any:
        inner = asyncio.ensure_future(asyncio.sleep(30))  # the call to the school
        asyncio.get_running_loop().call_later(0.2, inner.cancel)  # its channel closed
        await inner
        return health_pb2.HealthCheckResponse()


def test_a_console_call_whose_school_call_was_cancelled_is_answered_unavailable() -> None:
    async def scenario() -> None:
        panel = Panel()
        handler = grpc.unary_unary_rpc_method_handler(
            panel.Check,
            request_deserializer=health_pb2.HealthCheckRequest.FromString,
            response_serializer=health_pb2.HealthCheckResponse.SerializeToString,
        )
        server = grpc.aio.server()
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler("test.Panel", {"Check": handler}),)
        )
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                check = channel.unary_unary(
                    "/test.Panel/Check",
                    request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
                    response_deserializer=health_pb2.HealthCheckResponse.FromString,
                )
                started = time.monotonic()
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await check(health_pb2.HealthCheckRequest(), timeout=10)
                assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
                assert "moved or was started again" in (refused.value.details() or "")
                assert time.monotonic() - started < 5  # answered, not left to the deadline
        finally:
            await server.stop(0)

    asyncio.run(scenario())
