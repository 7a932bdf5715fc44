"""What `pronote-dc clean` removes: every container, network and volume labelled `pronote-dc.*`
on an engine (backups volumes only when asked)."""

from __future__ import annotations

from dataclasses import dataclass

from docker.errors import APIError, NotFound

from provisioning.docker import LABEL, DockerRuntime
from provisioning.runtime import RuntimeFailure


@dataclass(frozen=True)
class Leftover:
    kind: str  # container, network, volume
    name: str
    detail: str


def _ours(labels: dict[str, str] | None) -> bool:
    return any(key.startswith(f"{LABEL}.") for key in (labels or {}))


def leftovers(url: str, purge_backups: bool) -> list[Leftover]:
    """Every container, network and volume labelled by the project on the engine of `url`
    (backups volumes only if `purge_backups`), in the order they can be removed."""
    client = DockerRuntime(url).client
    found = [
        Leftover("container", c["Names"][0].lstrip("/"), c["State"])
        for c in client.api.containers(all=True)
        if _ours(c.get("Labels"))
    ]
    found += [
        Leftover(
            "network",
            n["Name"],
            ", ".join(str(c.get("Subnet")) for c in (n.get("IPAM") or {}).get("Config") or []),
        )
        for n in client.api.networks()
        if _ours(n.get("Labels"))
    ]
    for volume in client.api.volumes().get("Volumes") or []:
        labels = volume.get("Labels") or {}
        if _ours(labels) and (purge_backups or labels.get(f"{LABEL}.volume") != "backups"):
            found.append(Leftover("volume", volume["Name"], labels.get(f"{LABEL}.volume", "")))
    return found


def remove_leftovers(url: str, found: list[Leftover]) -> None:
    api = DockerRuntime(url).client.api
    for item in found:
        try:
            if item.kind == "container":
                api.remove_container(item.name, force=True)
            elif item.kind == "network":
                api.remove_network(item.name)
            else:
                api.remove_volume(item.name, force=True)
        except NotFound:
            pass
        except APIError as error:
            raise RuntimeFailure(
                f"cannot remove {item.kind} {item.name}: {error.explanation}"
            ) from error
