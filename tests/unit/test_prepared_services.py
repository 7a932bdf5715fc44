"""A school's servicers and method tables made before its school is known (DESIGN decision
42): the warm parent prepares them once, the school forked next takes them."""

from __future__ import annotations

from vm_agent import server


def test_prepared_services_are_taken_once_then_made_afresh() -> None:
    server.prepare_services()
    prepared, afresh = server.take_services(), server.take_services()
    assert prepared is not afresh
    assert prepared.slot is not afresh.slot and prepared.agent is not afresh.agent
    assert prepared.client_health is not afresh.client_health


def test_the_method_tables_cover_every_rpc_of_both_ports() -> None:
    services = server.make_services()
    common = {"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"}
    assert services.client_table.service_names == common | {"pronote.client.v1.ClientPronote"}
    assert services.agent_table.service_names == common | {"pronote.agent.v1.Agent"}
