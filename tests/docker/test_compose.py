"""docker-compose.yml: its wiring is checked as a file (Prometheus and Grafana cannot be pulled
here); its controller service is run for real, as compose would run it, with testcontainers."""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path
from typing import Any

import docker
import pytest
import yaml

from tests.docker.engine import remove_everything_of
from tests.integration.harness import Datacenter, client

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def test_the_stack_is_wired_together(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"controller", "prometheus", "grafana"}

    controller = services["controller"]
    assert controller["build"]["context"] == "."
    assert (ROOT / controller["build"]["dockerfile"]).is_file()
    assert "ARG BASE_IMAGE" in (ROOT / controller["build"]["dockerfile"]).read_text()
    assert controller["network_mode"] == "host"  # reaches each school's bridge IP
    assert "/var/run/docker.sock:/var/run/docker.sock" in controller["volumes"]
    env = controller["environment"]
    assert env["PRONOTE_DC_RUNTIME"] == "docker://"
    assert env["PRONOTE_DC_ADDRESS_POOL"] == "172.30.0.0/22"
    state_volume = next(
        v for v in controller["volumes"] if v.endswith(":" + env["PRONOTE_DC_STATE_DIR"])
    )
    assert state_volume.split(":")[0] in compose["volumes"]

    # Prometheus and Grafana use monitoring/ as-is, on the host's network like the controller.
    prometheus = services["prometheus"]
    assert prometheus["network_mode"] == "host"
    assert "--web.listen-address=127.0.0.1:9090" in prometheus["command"]
    mounts = dict(
        v.rsplit(":", 1)[0].split(":") for v in prometheus["volumes"] if v.startswith(".")
    )
    assert mounts == {
        "./monitoring/prometheus.yml": "/etc/prometheus/prometheus.yml",
        "./monitoring/rules": "/etc/prometheus/rules",
    }
    scrape = yaml.safe_load((ROOT / "monitoring/prometheus.yml").read_text())
    for rule_file in scrape["rule_files"]:  # relative to the config file, as mounted
        assert (ROOT / "monitoring" / rule_file).is_file()
    controller_http = "127.0.0.1:49480"  # the controller's default HTTP address (settings)
    assert scrape["scrape_configs"][0]["static_configs"][0]["targets"] == [controller_http]
    sd_url = scrape["scrape_configs"][1]["http_sd_configs"][0]["url"]
    assert sd_url == f"http://{controller_http}/sd/schools"
    assert "PRONOTE_DC_HTTP_ADDRESS" not in env  # so the controller serves on that default
    assert "controller" in prometheus["depends_on"]

    grafana = services["grafana"]
    assert grafana["network_mode"] == "host"
    grafana_mounts = dict(
        v.rsplit(":", 1)[0].split(":") for v in grafana["volumes"] if v.startswith(".")
    )
    assert grafana_mounts["./monitoring/grafana/provisioning"] == "/etc/grafana/provisioning"
    provider = yaml.safe_load(
        (ROOT / "monitoring/grafana/provisioning/dashboards/pronote.yml").read_text()
    )
    assert (
        grafana_mounts["./monitoring/grafana/dashboards"]
        == (provider["providers"][0]["options"]["path"])
    )
    sources = yaml.safe_load(
        (ROOT / "monitoring/grafana/provisioning/datasources/prometheus.yml").read_text()
    )
    assert sources["datasources"][0]["url"] == "http://localhost:9090"
    assert "prometheus" in grafana["depends_on"]


def test_the_controller_service_provisions_schools_from_its_container(
    compose: dict[str, Any], engine: docker.DockerClient, tmp_path: Path, subnet: str
) -> None:
    from testcontainers.core.container import DockerContainer

    service = compose["services"]["controller"]
    state_dir = tmp_path / "compose-state"
    state_dir.mkdir()
    console = f"127.72.{random.randrange(1, 255)}.{random.randrange(1, 255)}:0"
    environment = {
        **service["environment"],
        "PRONOTE_DC_ADDRESS_POOL": subnet,
        "PRONOTE_DC_CONSOLE_ADDRESS": console,
    }
    container = DockerContainer(service["image"]).with_command(service["command"])
    for name, value in environment.items():
        container.with_env(name, value)
    container.with_volume_mapping("/var/run/docker.sock", "/var/run/docker.sock", "rw")
    container.with_volume_mapping(str(state_dir), environment["PRONOTE_DC_STATE_DIR"], "rw")
    container.with_kwargs(network_mode=service["network_mode"], labels=service["labels"])
    try:
        with container:
            controller_file = state_dir / "controller.json"
            deadline = time.monotonic() + 60
            while not controller_file.exists():
                assert time.monotonic() < deadline, container.get_logs()
                time.sleep(0.1)
            dc = Datacenter(state_dir, subnet)
            dc.console_address = json.loads(controller_file.read_text())["console_address"]
            school = dc.provision("0750701").school
            with client(school.address) as c:
                assert c.info().uai == school.uai
    finally:  # the controller is stopped first, so it restarts nothing
        remove_everything_of(engine, Path(environment["PRONOTE_DC_STATE_DIR"]), subnet)


@pytest.fixture(autouse=True, scope="module")
def _no_ryuk() -> None:
    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")  # nothing can be pulled here
