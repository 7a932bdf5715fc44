"""Every server answers health and reflection; the management port needs the school's secret."""

from __future__ import annotations

from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from protos import agent_pb2, agent_pb2_grpc
from tests.integration.harness import Datacenter, account, rpc_error


def services(target: str) -> set[str]:
    with grpc.insecure_channel(target) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        reply = next(iter(stub.ServerReflectionInfo(iter([request]), timeout=10)))
        return {s.name for s in reply.list_services_response.service}


def health(target: str) -> int:
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        return int(stub.Check(health_pb2.HealthCheckRequest(), timeout=10).status)


def test_health_and_reflection_on_every_server(datacenter: Datacenter) -> None:
    school = datacenter.provision("0750101").school
    serving = health_pb2.HealthCheckResponse.SERVING
    expected = {
        f"{school.address}:49300": "pronote.client.v1.ClientPronote",
        f"{school.address}:49301": "pronote.agent.v1.Agent",
        datacenter.console_address: "pronote.console.v1.Console",
    }
    for target, service in expected.items():
        assert health(target) == serving
        assert {service, "grpc.health.v1.Health"} <= services(target)
    # The client port never offers the management API.
    assert "pronote.agent.v1.Agent" not in services(f"{school.address}:49300")


def test_the_management_api_refuses_anyone_without_the_school_secret(
    datacenter: Datacenter,
) -> None:
    school = datacenter.provision("0750102").school
    spr = account(school, "spr")
    with grpc.insecure_channel(f"{school.address}:49301") as channel:
        agent = agent_pb2_grpc.AgentStub(channel)
        for metadata in ((), (("authorization", f"Bearer {spr.password}"),)):
            refused = rpc_error(
                lambda m=metadata: agent.ListConnections(agent_pb2.Empty(), metadata=m)
            )
            assert refused.code() == grpc.StatusCode.UNAUTHENTICATED
        other = datacenter.provision("0750103").school
        wrong_school = (("authorization", f"Bearer {datacenter.agent_secret(other.uai)}"),)
        refused = rpc_error(lambda: agent.GetStatus(agent_pb2.Empty(), metadata=wrong_school))
        assert refused.code() == grpc.StatusCode.UNAUTHENTICATED
        mine = (("authorization", f"Bearer {datacenter.agent_secret(school.uai)}"),)
        assert agent.GetStatus(agent_pb2.Empty(), metadata=mine).uai == school.uai


def test_a_local_school_runs_with_the_schools_grpc_settings(datacenter: Datacenter) -> None:
    """DESIGN decision 43: set in the warm parent's environment, which its schools inherit
    (gRPC reads it once, at its import)."""
    school = datacenter.provision("0750109").school
    environ = Path(f"/proc/{datacenter.school_pid(school.uai)}/environ").read_bytes()
    assert b"GRPC_EXPERIMENTS=-event_engine_listener" in environ.split(b"\0")
    assert health(f"{school.address}:49300") == health_pb2.HealthCheckResponse.SERVING
