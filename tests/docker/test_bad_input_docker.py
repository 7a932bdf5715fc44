"""Bad input for the docker runtime: a clear error, and never a half-created container or a
leaked lease."""

from __future__ import annotations

import io
import subprocess
from collections.abc import Iterator
from pathlib import Path

import docker
import grpc
import pytest

from tests.docker.engine import containers, remove_everything_of
from tests.integration.harness import PRONOTE_DC, Datacenter, rpc_error, uai

from .test_fleet_docker import leases


def up_fails(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> str:
    state_dir = tmp_path / "state"
    result = subprocess.run(
        [
            *PRONOTE_DC,
            "--state-dir",
            str(state_dir),
            "up",
            "--console-address",
            "127.0.0.1:0",
            *args,
        ],
        env={**Datacenter(state_dir, "127.72.0.0/24").env, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0, result.stdout
    return " ".join(result.stderr.split())


def test_an_unreachable_engine_names_the_runtime_and_how_to_start_one(tmp_path: Path) -> None:
    url = f"docker://{tmp_path}/no-engine.sock"
    error = up_fails(tmp_path, "--runtime", url, "--address-pool", "172.30.200.0/24")
    assert url in error
    assert "scripts/docker-engine.sh" in error


def test_an_unreachable_ssh_engine_names_the_runtime(tmp_path: Path) -> None:
    url = "ssh://nobody@127.72.0.1"  # this tier's loopback range: nothing listens on port 22
    error = up_fails(tmp_path, "--runtime", url, "--address-pool", "172.30.200.0/24")
    assert url in error and "scripts/docker-engine.sh" in error


def test_a_loopback_pool_is_refused_with_the_documented_default(tmp_path: Path) -> None:
    error = up_fails(tmp_path, "--runtime", "docker://", "--address-pool", "127.72.0.0/24")
    assert "PRONOTE_DC_ADDRESS_POOL=172.30.0.0/22" in error


def test_a_missing_image_says_how_to_build_it(
    engine: docker.DockerClient, tmp_path: Path, subnet: str
) -> None:
    url = "docker://?image=pronote-dc/absent:none"
    error = up_fails(tmp_path, "--runtime", url, "--address-pool", subnet)
    assert "pronote-dc/absent:none is missing" in error and "make docker-images" in error


def test_a_pool_clashing_with_another_network_is_refused(
    engine: docker.DockerClient, tmp_path: Path, subnet: str
) -> None:
    engine.networks.create(
        "pdc-test-foreign",
        ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=subnet)]),
        labels={"pronote-dc.test": "foreign"},
    )
    error = up_fails(tmp_path, "--runtime", "docker://", "--address-pool", subnet)
    assert "pdc-test-foreign" in error and "clashes" in error


def test_an_address_already_in_use_fails_cleanly(
    engine: docker.DockerClient, docker_dc: Datacenter
) -> None:
    first = docker_dc.provision("0750301", demo=False).school
    network = next(iter(containers(engine, docker_dc.state_dir)[0]["NetworkSettings"]["Networks"]))
    squatted = first.address.rsplit(".", 1)[0] + "." + str(int(first.address.rsplit(".", 1)[1]) + 1)
    squatter = engine.containers.create(
        "pronote-dc/agent:latest", ["sleep", "600"], labels={"pronote-dc.test": "squatter"}
    )
    engine.networks.get(network).connect(squatter, ipv4_address=squatted)
    squatter.start()

    error = rpc_error(docker_dc.provision, "0750302", False)
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert "already in use" in (error.details() or "").lower() or squatted in (
        error.details() or ""
    )
    assert uai("0750302") not in leases(docker_dc)
    assert [c["Labels"]["pronote-dc.school"] for c in containers(engine, docker_dc.state_dir)] == [
        first.uai
    ]


@pytest.fixture
def silent_image(engine: docker.DockerClient) -> Iterator[str]:
    """The agent image with a command that logs and never listens."""
    tag = "pronote-dc/test-silent:latest"
    dockerfile = (
        "FROM pronote-dc/agent:latest\n"
        'CMD ["python", "-c", "print(\'silent school: no server here\', flush=True); '
        'import time; time.sleep(600)"]\n'
    )
    engine.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True)
    yield tag
    engine.images.remove(tag, force=True)


def test_a_container_that_never_becomes_healthy_reports_its_log(
    engine: docker.DockerClient, tmp_path: Path, subnet: str, silent_image: str
) -> None:
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    dc = Datacenter(
        state_dir, subnet, runtime=f"docker://?image={silent_image}", start_timeout_seconds="3"
    )
    dc.start()
    try:
        error = rpc_error(dc.provision, "0750401", False)
        assert error.code() == grpc.StatusCode.UNAVAILABLE
        details = error.details() or ""
        assert "did not listen" in details and "silent school: no server here" in details
        assert leases(dc) == {}
        assert containers(engine, state_dir) == []
    finally:
        dc.down()
        remove_everything_of(engine, state_dir, subnet)
