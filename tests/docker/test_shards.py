"""A pool larger than one bridge: schools land on the /22 network holding their address."""

from __future__ import annotations

import asyncio
import ipaddress
from pathlib import Path

import docker

from common import secrets
from common.agent_config import AgentConfig, save_config
from provisioning.factory import open_runtime
from provisioning.runtime import SchoolSpec
from tests.docker.engine import free_subnet, remove_everything_of
from tests.integration.harness import wait_for
from vm_agent.healthcheck import check


def test_schools_of_two_bridges_each_get_their_own_network(
    engine: docker.DockerClient, tmp_path: Path
) -> None:
    pool = free_subnet(engine, 21)
    first, second = ipaddress.ip_network(pool).subnets(new_prefix=22)
    runtime = open_runtime("docker://")
    specs = []
    try:
        reserved = asyncio.run(runtime.prepare(pool))
        assert {str(first[1]), str(second[1])} <= reserved  # the gateways
        for uai, address in (("0750801A", first[2]), ("0750802B", second[2])):
            spec = SchoolSpec(uai, str(address), tmp_path / "state" / "schools" / uai)
            save_config(
                spec.config_path,
                AgentConfig(uai, uai, spec.address, spec.data_dir, secrets.hash_secret("s")),
            )
            asyncio.run(runtime.start(spec, 60))
            specs.append(spec)
        for spec in specs:
            [container] = engine.api.containers(filters={"label": f"pronote-dc.school={spec.uai}"})
            networks = container["NetworkSettings"]["Networks"]
            subnet = ipaddress.ip_network(f"{spec.address}/22", strict=False)
            assert list(networks) == [f"pronote-dc-{subnet.network_address}-22"]
            wait_for(lambda s=spec: check(f"{s.address}:49300", 1.0) == "SERVING", timeout=30)
    finally:
        asyncio.run(runtime.close())
        for half in (first, second):
            remove_everything_of(engine, tmp_path / "state", str(half))
