from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.docker.engine import engine_or_skip, free_subnet, remove_everything_of
from tests.integration.harness import Datacenter, running_datacenter


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/docker" in str(item.fspath):
            item.add_marker(pytest.mark.docker)


@pytest.fixture(scope="session")
def engine() -> docker.DockerClient:
    return engine_or_skip()


@pytest.fixture
def subnet(engine: docker.DockerClient, tmp_path: Path) -> Iterator[str]:
    """A free bridge subnet; everything the test created on it is removed afterwards."""
    chosen = free_subnet(engine)
    try:
        yield chosen
    finally:
        remove_everything_of(engine, tmp_path / "state", chosen)


@pytest.fixture
def docker_dc(tmp_path: Path, subnet: str) -> Iterator[Datacenter]:
    """A running controller with the docker runtime, its pool being the test's bridge subnet."""
    settings = {"runtime": "docker://", "start_timeout_seconds": "60"}
    with running_datacenter(tmp_path, subnet, **settings) as dc:
        yield dc
