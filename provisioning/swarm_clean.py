"""What `pronote-dc clean` removes from a swarm:// data-center: the schools' services, the
gateway containers, the overlay networks, the school volumes on every node (a one-shot global
job: each node's volumes are its own) and this host's routes to the overlays."""

from __future__ import annotations

import contextlib
import ipaddress
import subprocess
import time
from dataclasses import dataclass
from typing import Any

from docker.errors import APIError, NotFound

from provisioning import swarm_volumes
from provisioning.runtime import RuntimeFailure
from provisioning.swarm import LABEL, OVERLAY, SwarmRuntime


@dataclass(frozen=True)
class Leftover:
    kind: str  # service, container, network, volumes, route
    name: str
    detail: str


def _ours(labels: dict[str, str] | None) -> bool:
    return any(key.startswith(f"{LABEL}.") for key in (labels or {}))


def leftovers(url: str) -> list[Leftover]:
    """Everything of pronote-dc on the swarm of `url`, in the order it can be removed."""
    runtime = SwarmRuntime(url)
    api = runtime.client.api
    found = [
        Leftover("service", s["Spec"]["Name"], s["Spec"]["Labels"].get(f"{LABEL}.school", ""))
        for s in api.services()
        if _ours(s["Spec"].get("Labels"))
    ]
    found += [
        Leftover("container", c["Names"][0].lstrip("/"), c["State"])
        for c in api.containers(all=True)
        if _ours(c.get("Labels")) and "com.docker.swarm.task.id" not in c.get("Labels", {})
    ]  # a service's task containers go with their service
    networks = [
        n for n in api.networks() if n["Name"].startswith(OVERLAY) and _ours(n.get("Labels"))
    ]
    found += [
        Leftover("network", n["Name"], n["Labels"].get(f"{LABEL}.network", "")) for n in networks
    ]
    local = api.volumes(filters={"label": f"{LABEL}.school"}).get("Volumes") or []
    if found or local:  # the nodes' own volumes, swept by a one-shot job on each node
        found.append(Leftover("volumes", f"{LABEL}.school", "on every node"))
    for network in networks:
        subnet = network["Labels"].get(f"{LABEL}.network", "")
        if _route_exists(subnet, runtime.manager_address):
            found.append(Leftover("route", subnet, f"via {runtime.manager_address}"))
    return found


def _route_exists(subnet: str, via: str) -> bool:
    with contextlib.suppress(ValueError, OSError):
        ipaddress.ip_network(subnet)
        result = subprocess.run(
            ["ip", "route", "show", subnet], capture_output=True, text=True, check=False
        )
        return f"via {via}" in result.stdout
    return False


def remove_leftovers(url: str, found: list[Leftover]) -> None:
    runtime = SwarmRuntime(url)
    api = runtime.client.api
    for item in found:
        try:
            if item.kind == "service":
                api.remove_service(item.name)
            elif item.kind == "container":
                api.remove_container(item.name, force=True)
            elif item.kind == "volumes":
                swarm_volumes.remove_now(runtime.client, runtime.image, None)
            elif item.kind == "network":
                _remove_network(api, item.name)
            elif item.kind == "route":
                subprocess.run(["ip", "route", "del", item.name], capture_output=True, check=False)
        except NotFound:
            pass
        except APIError as error:
            raise RuntimeFailure(
                f"cannot remove {item.kind} {item.name} on the swarm of {url}: "
                f"{error.explanation}; run `pronote-dc clean` again in a moment"
            ) from error


def _remove_network(api: Any, name: str) -> None:
    """Remove the overlay and make sure it is gone: the tasks of services just removed may
    hold it a moment (the removal is refused, or answered but not done), so retry for 30 s."""
    deadline = time.monotonic() + 30
    while True:
        left = [n for n in api.networks(names=[name]) if n["Name"] == name]
        if not left:
            return
        try:
            for network in left:
                api.remove_network(network["Id"])
        except (APIError, NotFound):
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise RuntimeFailure(
                f"the overlay {name} is still there after its removal; run `pronote-dc clean` "
                "again in a moment"
            )
        time.sleep(1.0)
