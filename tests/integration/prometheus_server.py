"""A real Prometheus (Debian's package) for the tests: own port, own data dir, own config.

Outside CI a missing `prometheus`/`promtool` skips the tier with the command that installs it;
in CI (CI=true) it fails, since this tier must run there.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.metrics_helpers import http_get

MONITORING = Path(__file__).resolve().parents[2] / "monitoring"
INSTALL_HINT = "install it with .ci/setup-prometheus.sh (Debian's prometheus package)"
READY_TIMEOUT_SECONDS = 30.0


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        message = f"`{name}` is not installed: {INSTALL_HINT}"
        if os.environ.get("CI"):
            pytest.fail(f"the Prometheus tier must run in CI: {message}")
        pytest.skip(message)
    return path


def free_local_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def scrape_config(controller_address: str, rule_file: Path) -> dict[str, Any]:
    """The shipped prometheus.yml, pointed at this controller, scraping every second."""
    config: dict[str, Any] = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s", scrape_timeout="1s")
    config["rule_files"] = [str(rule_file)]
    for job in config["scrape_configs"]:
        for static in job.get("static_configs", []):
            static["targets"] = [controller_address]
        for sd in job.get("http_sd_configs", []):
            sd["url"] = f"http://{controller_address}/sd/schools"
            sd["refresh_interval"] = "1s"
    return config


def rules_with_short_for(directory: Path, for_seconds: int) -> Path:
    """The shipped rules with every `for:` shortened, so a test sees them fire in seconds."""
    rules: dict[str, Any] = yaml.safe_load((MONITORING / "rules/pronote.rules.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = f"{for_seconds}s"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "rules.yml"
    path.write_text(yaml.safe_dump(rules))
    return path


class Prometheus:
    def __init__(self, directory: Path, config: dict[str, Any]) -> None:
        binary = require_tool("prometheus")
        directory.mkdir(parents=True, exist_ok=True)
        config_path = directory / "prometheus.yml"
        config_path.write_text(yaml.safe_dump(config))
        self.address = f"127.0.0.1:{free_local_port()}"
        self.log_path = directory / "prometheus.log"
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config_path}",
                    f"--storage.tsdb.path={directory / 'data'}",
                    f"--web.listen-address={self.address}",
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=log,
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited:\n{self.log()}")
            try:
                if http_get(f"http://{self.address}/-/ready")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"prometheus not ready in {READY_TIMEOUT_SECONDS} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def api(self, path: str, **params: str) -> Any:
        query = urllib.parse.urlencode(params)
        status, text = http_get(f"http://{self.address}/api/v1/{path}?{query}")
        body = json.loads(text)
        assert status == 200 and body["status"] == "success", text
        return body["data"]

    def query(self, promql: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.api("query", query=promql)["result"]
        return result

    def firing(self, alertname: str) -> list[dict[str, str]]:
        alerts = self.api("alerts")["alerts"]
        return [
            a["labels"]
            for a in alerts
            if a["labels"]["alertname"] == alertname and a["state"] == "firing"
        ]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def prometheus_scraping(directory: Path, controller_address: str) -> Iterator[Prometheus]:
    """A real Prometheus in `directory`, finding its targets through the controller's service
    discovery, with the shipped alert rules (their `for:` shortened to 2 s); stopped after."""
    rules = rules_with_short_for(directory, for_seconds=2)
    server = Prometheus(directory, scrape_config(controller_address, rules))
    try:
        yield server
    finally:
        server.stop()
