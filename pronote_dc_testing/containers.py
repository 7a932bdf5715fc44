"""testcontainers module: PRONOTE schools in Docker containers, for users who prefer them.

Follows testcontainers-python's module conventions (a `DockerContainer` subclass per service,
`get_*` accessors, a wait strategy, usable as a context manager)::

    from pronote_dc_testing.containers import PronoteSchoolContainer

    with PronoteSchoolContainer(date="2026-12-10") as school:
        account = school.get_accounts()["eleve"]
        client = pronotepy.Client(school.get_espace_url("eleve"), account["login"],
                                  account["password"])

`PronoteSchoolContainer` runs one demo school in the project's agent image
(`pronote-dc/agent:latest`, built offline by `make docker-images`): a data-center inside the
container whose address pool is the container's own address, so the school is its own server
on its own IP, with ports 49300 (Client PRONOTE) and 8080 (PRONOTE.net) published. Its health
check (the school provisioned and serving) is the wait strategy.

`PronoteDatacenterContainer` runs a small data-center: the controller in the agent image with
the docker runtime (like docker-compose.yml), each school a container of its own with its own
IP on a bridge of its own subnet.

Every container, network and volume is labelled `pronote-dc.testing=<session>`; `stop()`
removes everything the data-center created (by its `pronote-dc.instance` label), nothing else.
Docker's Hub is not needed: disable Ryuk (`TESTCONTAINERS_RYUK_DISABLED=true`) where its image
cannot be pulled.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import os
import random
import socket
import time
import uuid
from typing import Any

from testcontainers.core.container import DockerContainer
from testcontainers.core.wait_strategies import HealthcheckWaitStrategy
from testcontainers.core.waiting_utils import WaitStrategyTarget

from pronote_dc_testing.dates import Moment, to_datetime

# The agent image `make docker-images` builds (PRONOTE_DC_AGENT_IMAGE, as that script reads it).
DEFAULT_IMAGE = os.environ.get("PRONOTE_DC_AGENT_IMAGE", "pronote-dc/agent:latest")
CLIENT_PORT = 49300
PRONOTE_NET_PORT = 8080
CONSOLE_PORT = 49400
LABEL = "pronote-dc.testing"
SESSION = uuid.uuid4().hex[:12]  # this test process's containers
STATE_DIR = "/state"
HEALTH_INTERVAL_NANOSECONDS = 250_000_000

# Inside the school container: pronote_dc_testing/in_container.py (an embedded data-center on
# the container's own address, one demo school) writes the school here when it is ready.
SCHOOL_DIR = "/pdc"
SCHOOL_FILE = f"{SCHOOL_DIR}/school.json"


class SchoolHealthy(HealthcheckWaitStrategy):
    """The container's health check says healthy; a container that exits first (e.g. an agent
    image built before pronote_dc_testing existed) fails at once with its last log lines and
    what to do, instead of waiting for the timeout."""

    def wait_until_ready(self, container: WaitStrategyTarget) -> None:
        wrapped = container.get_wrapped_container()
        deadline = time.monotonic() + self._startup_timeout
        while time.monotonic() < deadline:
            wrapped.reload()
            state = wrapped.attrs.get("State", {})
            if state.get("Status") in ("exited", "dead"):
                logs = wrapped.logs().decode(errors="replace")[-2000:]
                raise RuntimeError(
                    f"the school container exited ({state.get('ExitCode')}) before it was "
                    f"healthy; if it cannot find pronote_dc_testing, rebuild the image with "
                    f"`make docker-images`. Its last lines:\n{logs}"
                )
            if (state.get("Health") or {}).get("Status") == "healthy":
                return
            time.sleep(self._poll_interval)
        logs = wrapped.logs().decode(errors="replace")[-2000:]
        raise TimeoutError(f"the school was not healthy in {self._startup_timeout} s:\n{logs}")


def _clock_env(date: Moment | None) -> dict[str, str]:
    start = to_datetime(date).strftime("%Y-%m-%dT%H:%M:%S") if date is not None else ""
    return {"PRONOTE_DC_CLOCK": "simulated", "PRONOTE_DC_CLOCK_START": start}


class _PronoteContainer(DockerContainer):
    """What both containers share: the controller's environment, CLI calls inside."""

    def __init__(
        self, image: str, date: Moment | None, state_dir: str = STATE_DIR, **kwargs: Any
    ) -> None:
        super().__init__(image, **kwargs)
        self.state_dir = state_dir
        self.with_envs(
            PRONOTE_DC_STATE_DIR=state_dir,
            PRONOTE_DC_CONSOLE_ADDRESS=f"127.0.0.1:{CONSOLE_PORT}",
            PRONOTE_DC_HTTP_ADDRESS="127.0.0.1:49480",
            **_clock_env(date),
        )

    def cli(self, *args: str) -> str:
        """Run `pronote-dc <args>` inside the container as the operator; its stdout.
        Raises RuntimeError with its output when it fails."""
        result = self.exec(["pronote-dc", *args])
        if result.exit_code != 0:
            raise RuntimeError(f"pronote-dc {' '.join(args)}: {result.output.decode()[-2000:]}")
        return str(result.output.decode())

    def advance_clock(self, when: Moment) -> None:
        """Move the simulated clock forward (it never goes back)."""
        self.cli("clock", "advance", to_datetime(when).strftime("%Y-%m-%dT%H:%M:%S"))


class PronoteSchoolContainer(_PronoteContainer):
    """One demo PRONOTE school in a container: `get_espace_url("eleve")`, `get_accounts()`,
    `get_client_address()`; a synthetic school seeded by `uai`; a simulated clock at `date`
    (None: now) moved by `advance_clock`."""

    def __init__(
        self,
        image: str = DEFAULT_IMAGE,
        uai: str = "0750001U",
        name: str = "",
        date: Moment | None = None,
        startup_timeout_seconds: int = 120,
        **kwargs: Any,
    ) -> None:
        super().__init__(image, date, state_dir=f"{SCHOOL_DIR}/state", **kwargs)
        self.uai = uai
        self.with_envs(
            UAI=uai,
            NAME=name or f"Établissement {uai}",
            PRONOTE_DC_TESTING_DATE=to_datetime(date).isoformat() if date is not None else "",
        )
        self.with_exposed_ports(CLIENT_PORT, PRONOTE_NET_PORT)
        self.with_command(["python", "-m", "pronote_dc_testing.in_container"])
        self.with_kwargs(
            labels={LABEL: SESSION, f"{LABEL}.uai": uai},
            healthcheck={
                "test": ["CMD", "test", "-s", SCHOOL_FILE],
                "interval": HEALTH_INTERVAL_NANOSECONDS,
                "timeout": 5_000_000_000,
                "retries": 3,
                "start_period": startup_timeout_seconds * 1_000_000_000,
            },
        )
        self.waiting_for(
            SchoolHealthy().with_startup_timeout(startup_timeout_seconds).with_poll_interval(0.1)
        )
        self._details: dict[str, Any] | None = None

    def get_details(self) -> dict[str, Any]:
        """What `pronote-dc school show --json` says of the school (inside the container)."""
        if self._details is None:
            result = self.exec(["cat", SCHOOL_FILE])
            self._details = json.loads(result.output)
        return self._details

    def get_accounts(self) -> dict[str, dict[str, Any]]:
        """Sample accounts by role (spr, administratif, enseignant, vie_scolaire, parent,
        eleve): {"login", "password", "espaces", "mode"}."""
        return {a["role"]: a for a in self.get_details()["sample_accounts"]}

    def get_client_address(self) -> tuple[str, int]:
        """(host, port) of the school's Client PRONOTE port (49300), as published."""
        return self.get_container_host_ip(), int(self.get_exposed_port(CLIENT_PORT))

    def get_espace_url(self, espace: str = "commune", mobile: bool = False) -> str:
        """A PRONOTE.net page's URL as reachable from here: commune, eleve, parent,
        professeur, viescolaire, direction...; mobile=True for its mobile twin."""
        pages = {e["page"]: e for e in self.get_details()["espaces"]}
        if espace not in pages:
            raise KeyError(f"no page {espace!r}; choose one of {', '.join(pages)}")
        inside = pages[espace]["mobile_url" if mobile else "url"]
        path = inside.split(f":{PRONOTE_NET_PORT}", 1)[1]
        host, port = self.get_container_host_ip(), self.get_exposed_port(PRONOTE_NET_PORT)
        return f"http://{host}:{port}{path}"


def free_subnet(client: Any, block: str = "172.31.0.0/16", prefix_length: int = 27) -> str:
    """A subnet of `block` that no Docker network uses (for a data-center's school bridge)."""
    used = [
        ipaddress.IPv4Network(config["Subnet"])
        for network in client.api.networks()
        for config in (network.get("IPAM") or {}).get("Config") or []
        if ":" not in config.get("Subnet", ":")
    ]
    candidates = list(ipaddress.IPv4Network(block).subnets(new_prefix=prefix_length))
    random.shuffle(candidates)
    for subnet in candidates:
        if not any(subnet.overlaps(other) for other in used):
            return str(subnet)
    raise RuntimeError(f"no free /{prefix_length} left in {block}: remove unused networks")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PronoteDatacenterContainer(_PronoteContainer):
    """A small data-center: the controller in a container (host network, the engine's socket,
    the docker runtime), `schools` demo schools each in its own container on a bridge of
    `subnet` (default: a free /27 of 172.31.0.0/16). `get_schools()` lists them;
    `get_console_address()` is the console API on the host's loopback."""

    def __init__(
        self,
        image: str = DEFAULT_IMAGE,
        schools: int = 2,
        subnet: str | None = None,
        date: Moment | None = None,
        startup_timeout_seconds: int = 180,
        **kwargs: Any,
    ) -> None:
        # The docker runtime names a controller's schools after its state directory: a unique
        # one per data-center keeps two of them (and their clean-up) apart.
        super().__init__(image, date, state_dir=f"/state/{uuid.uuid4().hex}", **kwargs)
        self.schools = schools
        self.subnet = subnet
        self.console_port = _free_port()
        self.startup_timeout_seconds = startup_timeout_seconds
        self.with_envs(
            PRONOTE_DC_RUNTIME=f"docker://?image={image}",  # schools in the controller's image
            PRONOTE_DC_CONSOLE_ADDRESS=f"127.0.0.1:{self.console_port}",
            PRONOTE_DC_HTTP_ADDRESS="127.0.0.1:0",
            PRONOTE_DC_START_TIMEOUT_SECONDS="90",
        )
        self.with_volume_mapping("/var/run/docker.sock", "/var/run/docker.sock", "rw")
        self.with_kwargs(
            network_mode="host",
            labels={LABEL: SESSION, f"{LABEL}.role": "controller"},
            healthcheck={"test": ["NONE"]},  # the image's check is the agent's
        )
        self.with_command(["pronote-dc", "up", "--demo", str(schools)])

    def start(self) -> PronoteDatacenterContainer:
        if self.subnet is None:
            self.subnet = free_subnet(self.get_docker_client().client)
        self.with_env("PRONOTE_DC_ADDRESS_POOL", self.subnet)
        super().start()
        deadline = time.monotonic() + self.startup_timeout_seconds
        while time.monotonic() < deadline:
            with contextlib.suppress(RuntimeError, json.JSONDecodeError):
                listed = json.loads(self.cli("school", "list", "--json"))
                if len(listed) == self.schools and all(s["state"] == "running" for s in listed):
                    return self
            time.sleep(0.5)
        logs = self.get_wrapped_container().logs().decode(errors="replace")[-3000:]
        self.stop()
        raise TimeoutError(f"{self.schools} schools not running in time:\n{logs}")

    def get_console_address(self) -> str:
        return f"127.0.0.1:{self.console_port}"

    def get_schools(self) -> list[dict[str, Any]]:
        """Every school as `pronote-dc school show --json` gives it (address, espaces with
        their URLs on the school's own bridge IP, sample_accounts)."""
        listed = json.loads(self.cli("school", "list", "--json"))
        return [json.loads(self.cli("school", "show", s["uai"], "--json")) for s in listed]

    def instance(self) -> str:
        """The `pronote-dc.instance` label of this data-center's schools (provisioning/docker.py:
        its state directory's schools/, hashed)."""
        return hashlib.sha256(f"{self.state_dir}/schools".encode()).hexdigest()[:8]

    def stop(self, force: bool = True, delete_volume: bool = True) -> None:
        """Stop the controller, then remove the school containers, volumes and bridges this
        data-center created (by its instance label and subnet), and nothing else."""
        client = self.get_docker_client().client
        super().stop(force, delete_volume)
        _remove_schools(client, self.instance(), self.subnet)


def _remove_schools(client: Any, instance: str, subnet: str | None) -> None:
    """The school containers and volumes of `instance`, then the bridges of `subnet`."""
    filters = {"label": f"pronote-dc.instance={instance}"}
    if instance:
        for container in client.api.containers(all=True, filters=filters):
            with contextlib.suppress(Exception):
                client.api.remove_container(container["Id"], force=True)
        for volume in client.api.volumes(filters=filters).get("Volumes") or []:
            with contextlib.suppress(Exception):
                client.api.remove_volume(volume["Name"], force=True)
    for network in client.api.networks():
        subnets = [c.get("Subnet") for c in (network.get("IPAM") or {}).get("Config") or []]
        if subnet and subnet in subnets:
            with contextlib.suppress(Exception):
                client.api.remove_network(network["Id"])
