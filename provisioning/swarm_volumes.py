"""The school volumes of a swarm:// data-center, node by node. A school's volume
(`pdc-<instance>-<UAI>`, data and backups at /school) lives on the node its task ran on; only
that node's engine can remove it, and the controller reaches the manager only. So removals are
Swarm jobs of the agent image (it carries the docker SDK) on each node's socket:

- `remove_now`: a one-shot `global-job` on every ready node (a school removed, `clean`);
- `remove_later`: a `replicated-job` constrained to one node that is down (lost in the middle of
  provisioning, or the node a school moved away from). Swarm keeps it pending in its own store
  (no controller state to lose) and runs it as soon as the node is back; `pronote-dc nodes remove`
  drops the jobs of the node it removes (`drop_pending`), and `sweep` removes finished jobs.

A job never removes a volume a container still uses: `docker volume rm` refuses one in use, and
the job retries for a minute (a removed service's container may take a moment to go), then
leaves it (DESIGN decision 34).
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from typing import Any

import docker
from docker.errors import APIError, NotFound
from docker.types import ContainerSpec, Mount, Placement, RestartPolicy, ServiceMode, TaskTemplate

LABEL = "pronote-dc"
JOB_LABEL = f"{LABEL}.job"
LATER = "clean-volume"  # JOB_LABEL of a pending per-node removal
DONE_STATES = {"complete", "failed", "rejected"}


def _script(volume: str | None) -> str:
    """Remove `volume` (None: every pronote-dc school volume) on the local engine, retrying one
    still in use for a minute (a removed service's container may take a moment to go)."""
    selector = f"name == {volume!r}" if volume else "True"
    return (
        "import docker, time\n"
        "c = docker.from_env()\n"
        "for _ in range(120):\n"
        f"    left = [v for v in c.volumes.list(filters={{'label': '{LABEL}.school'}})"
        f" if (lambda name: {selector})(v.name)]\n"
        "    for v in left:\n"
        "        try: v.remove(force=True)\n"
        "        except docker.errors.APIError: pass\n"
        "    if not left: break\n"
        "    time.sleep(0.5)\n"
    )


def _template(image: str, volume: str | None, node_id: str | None = None) -> TaskTemplate:
    return TaskTemplate(
        container_spec=ContainerSpec(
            image,
            command=["python", "-c", _script(volume)],
            mounts=[Mount("/var/run/docker.sock", "/var/run/docker.sock", type="bind")],
        ),
        restart_policy=RestartPolicy(condition="none"),
        placement=Placement(constraints=[f"node.id=={node_id}"]) if node_id else None,
    )


def remove_now(client: docker.DockerClient, image: str, volume: str | None) -> None:
    """Remove the school volume `volume` (None: every pronote-dc volume) on every ready node,
    with a one-shot global job; returns once every ready node ran it (60 s at most)."""
    name = f"pdc-clean-{hashlib.sha256(_script(volume).encode()).hexdigest()[:8]}"
    with contextlib.suppress(NotFound):
        client.api.remove_service(name)
    # A global job runs on active nodes only: a drained node (its schools moved away, their
    # volumes stayed) takes the job while it runs, then is drained again.
    drained = [
        n
        for n in client.api.nodes()
        if n["Spec"].get("Availability") == "drain" and n["Status"].get("State") == "ready"
    ]
    if volume is None:
        for node in drained:
            client.api.update_node(
                node["ID"], node["Version"]["Index"], {**node["Spec"], "Availability": "active"}
            )
    client.api.create_service(
        _template(image, volume),
        name=name,
        mode=ServiceMode("global-job"),
        labels={JOB_LABEL: "clean"},
    )
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            tasks = client.api.tasks(filters={"service": name})
            ready = [
                n
                for n in client.api.nodes()
                if n.get("Status", {}).get("State") == "ready"
                and n["Spec"].get("Availability") == "active"
            ]
            done = [t for t in tasks if t.get("Status", {}).get("State") in DONE_STATES]
            if tasks and len(done) >= len(ready):
                return
            time.sleep(0.3)
    finally:
        with contextlib.suppress(NotFound):
            client.api.remove_service(name)
        if volume is None:
            for node in drained:
                current = client.api.inspect_node(node["ID"])
                client.api.update_node(
                    node["ID"],
                    current["Version"]["Index"],
                    {**current["Spec"], "Availability": "drain"},
                )


def remove_later(client: docker.DockerClient, image: str, node_id: str, volume: str) -> str:
    """A job that removes `volume` on node `node_id` once that node is back (Swarm keeps it
    pending until then); returns its name. Idempotent: an existing job is kept."""
    name = f"pdc-clean-{volume.removeprefix('pdc-')}-{node_id[:12]}"
    try:
        client.api.inspect_service(name)
        return name
    except NotFound:
        pass
    with contextlib.suppress(APIError):  # a concurrent caller made it in between: keep it
        client.api.create_service(
            _template(image, volume, node_id),
            name=name,
            mode=ServiceMode("replicated-job", replicas=1, concurrency=1),
            labels={JOB_LABEL: LATER, f"{LABEL}.node-id": node_id, f"{LABEL}.volume": volume},
        )
    return name


def pending(client: docker.DockerClient, node_id: str | None = None) -> list[dict[str, Any]]:
    """The per-node removal jobs (of node `node_id`, or all)."""
    filters = [f"{JOB_LABEL}={LATER}"]
    if node_id is not None:
        filters.append(f"{LABEL}.node-id={node_id}")
    return list(client.api.services(filters={"label": filters}))


def drop_pending(client: docker.DockerClient, node_id: str) -> list[str]:
    """Remove the removal jobs waiting for node `node_id` (it leaves the swarm, so they could
    never run); returns the volumes they were for."""
    volumes = []
    for service in pending(client, node_id):
        with contextlib.suppress(NotFound):
            client.api.remove_service(service["ID"])
            volumes.append(service["Spec"]["Labels"].get(f"{LABEL}.volume", ""))
    return volumes


def sweep(client: docker.DockerClient) -> int:
    """Remove the per-node removal jobs that ran; returns how many."""
    removed = 0
    for service in pending(client):
        tasks = client.api.tasks(filters={"service": service["ID"]})
        if tasks and all(t.get("Status", {}).get("State") in DONE_STATES for t in tasks):
            with contextlib.suppress(NotFound):
                client.api.remove_service(service["ID"])
                removed += 1
    return removed
