"""The Docker engine for the Docker tier: found, or skipped with a reason (failed in CI)."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import random
from pathlib import Path
from typing import Any

import docker
import pytest
from docker.errors import DockerException, ImageNotFound, NotFound

from provisioning.docker import DEFAULT_IMAGE, LABEL, DockerRuntime
from provisioning.runtime import SchoolSpec

TEST_BLOCK = ipaddress.IPv4Network("172.30.128.0/17")  # tests' subnets; users get 172.30.0.0/22


def engine_or_skip() -> docker.DockerClient:
    """The local engine with the agent image, else skip (outside CI) or fail (CI=true)."""
    try:
        client = docker.from_env(timeout=60)
        client.ping()
        client.images.get(DEFAULT_IMAGE)
        return client
    except (DockerException, ImageNotFound) as error:
        reason = (
            f"no usable Docker engine or image {DEFAULT_IMAGE} ({error}); "
            "run `make docker-images` to install/start the engine and build the image"
        )
    if os.environ.get("CI") == "true":
        pytest.fail(f"the Docker tier must run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def free_subnet(client: docker.DockerClient, prefix_length: int = 24) -> str:
    """A subnet of the test block that no Docker network uses."""
    used = [
        ipaddress.ip_network(config["Subnet"])
        for network in client.api.networks()
        for config in (network.get("IPAM") or {}).get("Config") or []
        if ":" not in config.get("Subnet", ":")
    ]
    candidates = list(TEST_BLOCK.subnets(new_prefix=prefix_length))
    random.shuffle(candidates)
    for subnet in candidates:
        if not any(subnet.overlaps(other) for other in used):
            return str(subnet)
    raise AssertionError("no free test subnet left in 172.30.128.0/17")


def instance_of(state_dir: Path) -> str:
    return DockerRuntime.instance(SchoolSpec("0000000A", "", state_dir / "schools" / "x"))


def containers(client: docker.DockerClient, state_dir: Path) -> list[dict[str, Any]]:
    """The school containers of the controller on `state_dir`."""
    return list(
        client.api.containers(
            all=True, filters={"label": f"{LABEL}.instance={instance_of(state_dir)}"}
        )
    )


def volumes(client: docker.DockerClient, state_dir: Path) -> set[str]:
    found = client.api.volumes(filters={"label": f"{LABEL}.instance={instance_of(state_dir)}"})
    return {v["Name"] for v in found.get("Volumes") or []}


def remove_everything_of(client: docker.DockerClient, state_dir: Path, subnet: str) -> None:
    for container in containers(client, state_dir):
        with contextlib.suppress(NotFound):
            client.api.remove_container(container["Id"], force=True)
    for name in volumes(client, state_dir):
        with contextlib.suppress(NotFound):
            client.api.remove_volume(name, force=True)
    for network in client.api.networks():
        subnets = [c.get("Subnet") for c in (network.get("IPAM") or {}).get("Config") or []]
        if subnet in subnets:
            for attached in client.api.inspect_network(network["Id"]).get("Containers") or {}:
                with contextlib.suppress(NotFound):
                    client.api.remove_container(attached, force=True)
            with contextlib.suppress(NotFound):
                client.api.remove_network(network["Id"])
