"""A data-center on Docker Swarm (issue 17), end to end on a 3-node lab of Docker-in-Docker
nodes (`pronote-dc lab up`: node 0 the manager, nodes 1 and 2 joined over SSH with fabric):
30 schools spread over the workers, pronotepy logs in to a school on each node through the
URL `school show` gives, a load run reaches every school, a worker lost -> its schools serve
again elsewhere with the data of their last sauvegarde (the time is printed), `nodes drain`
moves schools with their data, a node lost while a school is provisioned there is a clear
error that leaves nothing (its volume removed once the node is back), a restarted controller
adopts every service with no duplicate, bad hosts are refused and a bare host gets its engine
over SSH, and `clean` + `lab down` leave nothing.

The tests run in this order on one lab and one controller (module fixtures): each step starts
from the state the previous one left, as an ops rehearsal does. Bounded: ~5.5 min here at a
load of 5-18 (a load of 30-50 from other work makes the first step miss its 180 s).
Image: PRONOTE_DC_AGENT_IMAGE (default pronote-dc/agent:latest, what `make docker-images`
builds from this checkout)."""

from __future__ import annotations

import ipaddress
import json
import os
import random
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import docker
import pronotepy
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protos import common_pb2, console_pb2
from provisioning import swarm_nodes
from provisioning.runtime import SchoolSpec
from provisioning.swarm import LABEL, SwarmRuntime
from provisioning.swarm_nodes import NODE_LABEL
from tests.docker.engine import engine_or_skip
from tests.integration.harness import PRONOTE_DC, Datacenter, advance, client
from tests.integration.harness import uai as uai_of
from tests.integration.metrics_helpers import samples, value

IMAGE = os.environ.get("PRONOTE_DC_AGENT_IMAGE", "pronote-dc/agent:latest")
SCHOOLS = 30
START = "2026-10-05T07:00:00"
T = TypeVar("T")
UP_AT: list[float] = []  # when `up --demo` was started


def wait_for(check: Callable[[], T | None], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"not within {timeout:.0f} s: {what}")


def free_lab_subnet(engine: docker.DockerClient) -> str:
    used = [
        ipaddress.ip_network(config["Subnet"])
        for network in engine.api.networks()
        for config in (network.get("IPAM") or {}).get("Config") or []
        if ":" not in config.get("Subnet", ":")
    ]
    for _ in range(200):
        subnet = ipaddress.ip_network(f"172.29.{random.randrange(100, 250)}.0/24")
        if not any(subnet.overlaps(u) for u in used):
            return str(subnet)
    raise AssertionError("no free lab subnet in 172.29.100-250.0/24")


def free_overlay_pool() -> str:
    routes = subprocess.run(["ip", "route"], capture_output=True, text=True, check=True).stdout
    for _ in range(200):
        pool = f"10.{random.randrange(100, 200)}.{random.randrange(0, 256, 4)}.0/22"
        if pool.split(".")[0] + "." + pool.split(".")[1] + "." not in routes:
            return pool
    raise AssertionError("no free overlay pool")


def cli(env: dict[str, str], *args: str, timeout: float = 600) -> str:
    result = subprocess.run(
        [*PRONOTE_DC, *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"pronote-dc {' '.join(args)}:\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    engine = engine_or_skip()
    name = f"t{random.randrange(16**6):06x}"
    state = tmp_path_factory.mktemp("swarm") / "state"
    env = {**os.environ, "PRONOTE_DC_STATE_DIR": str(state), "PRONOTE_DC_AGENT_IMAGE": IMAGE}
    started = time.monotonic()
    try:
        out = cli(env, "lab", "up", "--lab", name, "--subnet", free_lab_subnet(engine), "--json")
        info = json.loads(out)[0]
        print(f"lab of 3 nodes up in {time.monotonic() - started:.1f} s")
        info["runtime"] = info["runtime"].split("?")[0]
        manager = docker.DockerClient(base_url=info["runtime"].replace("swarm", "tcp"), timeout=60)
        yield {"name": name, "env": env, "state": state, "manager": manager, **info}
        manager.close()
    finally:
        subprocess.run(
            [*PRONOTE_DC, "lab", "down", "--lab", name], env=env, capture_output=True, timeout=120
        )
        left = engine.api.containers(all=True, filters={"label": f"{LABEL}.lab={name}"})
        assert not left, f"lab {name} left containers behind: {left}"


@pytest.fixture(scope="module")
def dc(lab: dict[str, Any]) -> Iterator[Datacenter]:
    state_dir = lab["state"]
    runtime = f"{lab['runtime']}?image={IMAGE}"
    datacenter = Datacenter(
        state_dir,
        free_overlay_pool(),
        runtime=runtime,
        clock="simulated",
        clock_start=START,
        scheduler_interval_seconds="0.5",
        start_timeout_seconds="90",
    )
    UP_AT.append(time.monotonic())
    datacenter.start("--demo", str(SCHOOLS))  # provisions in the background
    try:
        yield datacenter
    finally:
        datacenter.stop()


def placement(manager: docker.DockerClient) -> dict[str, tuple[str, str]]:
    """uai -> (node hostname, overlay address) of every running school task."""
    nodes = {n["ID"]: n["Description"]["Hostname"] for n in manager.api.nodes()}
    services = {
        s["ID"]: s["Spec"]["Labels"][f"{LABEL}.school"]
        for s in manager.api.services(filters={"label": f"{LABEL}.school"})
    }
    found = {}
    for task in manager.api.tasks(filters={"desired-state": "running"}):
        if task["ServiceID"] in services and task["Status"]["State"] == "running":
            address = task["NetworksAttachments"][0]["Addresses"][0].split("/")[0]
            found[services[task["ServiceID"]]] = (nodes[task["NodeID"]], address)
    return found


def schools(dc: Datacenter) -> dict[str, Any]:
    listing = dc.operator().ListSchools(console_pb2.ListSchoolsRequest())
    return {s.uai: s for s in listing.schools}


def mark_user(dc: Datacenter, uai: str, tag: str) -> str:
    """Enter a mark in the school (a user) through its management API; returns its login."""
    school = dc.operator().GetSchool(console_pb2.SchoolRef(uai=uai))
    login = f"{tag}.{uai.lower()}"
    dc.add_user(school, login, common_pb2.USER_KIND_PERSONNEL, "Administration")
    return login


def logs_in(dc: Datacenter, uai: str, login: str) -> bool:
    school = dc.operator().GetSchool(console_pb2.SchoolRef(uai=uai))
    if school.state != "running":
        return False
    try:
        with client(f"{school.address}") as c:
            reply = c.connect(login, f"pw-{login}")
            c.disconnect(reply.session_id)
        return True
    except Exception:
        return False


def backed_up_and_copied(dc: Datacenter, uais: list[str], when: str) -> None:
    """Advance the clock past a sauvegarde slot; wait until each school's is in the store."""
    advance(dc, when)
    store = dc.state_dir / "backups"

    def copied() -> bool:
        for uai in uais:
            try:
                index = json.loads((store / uai / "index.json").read_text())["backups"]
            except (OSError, ValueError, KeyError):
                return False
            if not any(m["kind"] == "sauvegarde" for m in index.values()):
                return False
        return True

    wait_for(copied, 60, "every sauvegarde copied off its node")


def refused(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [*PRONOTE_DC, *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0, result.stdout
    return " ".join(result.stderr.split())


def test_thirty_schools_spread_over_the_workers_and_pronotepy_logs_in_on_each_node(
    lab: dict[str, Any], dc: Datacenter
) -> None:
    def all_placed() -> dict[str, tuple[str, str]] | None:
        listed = schools(dc)
        if len(listed) < SCHOOLS or any(s.state != "running" for s in listed.values()):
            return None  # `up --demo` provisions in the background
        found = placement(lab["manager"])
        return found if len(found) == SCHOOLS else None

    placed = wait_for(all_placed, 180, f"{SCHOOLS} schools running")
    print(
        f"{SCHOOLS} demo schools running on the swarm {time.monotonic() - UP_AT[-1]:.1f} s after up"
    )
    per_node: dict[str, list[str]] = {}
    for uai, (node, _) in placed.items():
        per_node.setdefault(node, []).append(uai)
    workers = [n for n in per_node if n != "node0"]
    assert len(workers) >= 2, per_node
    nodes = json.loads(dc.cli("nodes", "list", "--json").stdout)
    assert {n["hostname"]: n["schools"] for n in nodes} == {
        n: len(u) for n, u in per_node.items()
    } | {n["hostname"]: 0 for n in nodes if n["hostname"] not in per_node}
    listed = schools(dc)
    assert all(listed[u].address == a for u, (_, a) in placed.items())  # the lease followed
    shown_list = json.loads(dc.cli("school", "list", "--json").stdout)
    assert {s["uai"]: s["node"] for s in shown_list} == {u: n for u, (n, _) in placed.items()}
    for node, uais in sorted(per_node.items()):
        shown = json.loads(dc.cli("school", "show", uais[0], "--json").stdout)
        teacher = next(a for a in shown["sample_accounts"] if a["role"] == "enseignant")
        url = next(e["url"] for e in shown["espaces"] if e["page"] == "professeur")
        assert url.startswith(f"http://{placed[uais[0]][1]}:")
        pronote = pronotepy.Client(url, teacher["login"], teacher["password"])
        assert pronote.logged_in, f"{uais[0]} on {node}"


def test_a_load_run_reaches_every_school(lab: dict[str, Any], dc: Datacenter) -> None:
    result = dc.cli(
        "load",
        *("--users", str(SCHOOLS), "--sessions", str(2 * SCHOOLS), "--duration", "60"),
        *("--session-length", "1", "--ramp-up", "2", "--think-time", "0.3", "--json"),
    )
    report = json.loads(result.stdout)
    reached = {s["uai"] for s in report["schools"] if s["sessions_opened"] > 0}
    assert reached == set(schools(dc)), report["schools"]
    assert report["sessions"]["failed"] == 0


def test_a_lost_worker_s_schools_serve_again_elsewhere_with_their_last_sauvegarde(
    lab: dict[str, Any], dc: Datacenter
) -> None:
    placed = placement(lab["manager"])
    lost = sorted(u for u, (node, _) in placed.items() if node == "node2")
    assert lost
    marks = {uai: mark_user(dc, uai, "lost") for uai in lost}
    backed_up_and_copied(dc, lost, "2026-10-05T08:05:00")

    started = time.monotonic()
    cli(lab["env"], "lab", "stop-node", "2", "--lab", lab["name"])

    def all_back() -> bool:
        now = placement(lab["manager"])
        return all(u in now and now[u][0] != "node2" and logs_in(dc, u, marks[u]) for u in lost)

    wait_for(all_back, 180, f"the {len(lost)} schools of node2 serving elsewhere with their mark")
    failover = time.monotonic() - started
    print(f"node2 lost -> its {len(lost)} schools serving with restored data in {failover:.1f} s")
    for uai in lost:
        history = dc.operator().GetHistory(console_pb2.SchoolRef(uai=uai)).entries
        resumed = [e for e in history if e.action == "resumed_from_backup"]
        assert (
            resumed
            and "sauvegarde" in resumed[-1].detail
            and resumed[-1].label == ("Reprise sur sauvegarde")
        )
    page = samples(f"http://{dc.http_address}/metrics")
    assert value(page, "pronote_school_resumptions_total") >= len(lost)
    assert value(page, "pronote_backup_copies_total", result="copied") >= len(lost)


def test_nodes_drain_moves_schools_with_their_data(lab: dict[str, Any], dc: Datacenter) -> None:
    placed = placement(lab["manager"])
    moving = sorted(u for u, (node, _) in placed.items() if node == "node1")
    assert moving
    marks = {uai: mark_user(dc, uai, "drained") for uai in moving}
    backed_up_and_copied(dc, moving, "2026-10-05T10:05:00")
    started = time.monotonic()
    dc.cli("nodes", "drain", "node1")

    def all_moved() -> bool:
        now = placement(lab["manager"])
        return all(u in now and now[u][0] == "node0" and logs_in(dc, u, marks[u]) for u in moving)

    wait_for(all_moved, 180, f"the {len(moving)} schools of node1 on node0 with their mark")
    print(f"node1 drained: {len(moving)} schools moved in {time.monotonic() - started:.1f} s")
    nodes = {n["hostname"]: n for n in json.loads(dc.cli("nodes", "list", "--json").stdout)}
    assert nodes["node1"]["availability"] == "drain" and nodes["node1"]["schools"] == 0
    # A node still up is not removed without --force; the lost one is.
    assert "is still up" in refused(dc.env, "nodes", "remove", "node1")
    dc.cli("nodes", "remove", "node2")
    listed = {n["hostname"] for n in json.loads(dc.cli("nodes", "list", "--json").stdout)}
    assert listed == {"node0", "node1"}


def test_a_node_lost_in_the_middle_of_provisioning_leaves_nothing(
    lab: dict[str, Any], dc: Datacenter
) -> None:
    """node1 (empty since the drain) is activated, so Swarm places the next school there; the
    node is killed once the school's task holds its volume there, before the school serves."""
    manager, engine = lab["manager"], engine_or_skip()
    dc.cli("nodes", "activate", "node1")
    new = uai_of("0939001")
    service = SwarmRuntime.instance(SchoolSpec(new, "", dc.state_dir / "schools" / new))
    service = f"pdc-{service}-{new}"
    node1 = next(n["ID"] for n in manager.api.nodes() if n["Description"]["Hostname"] == "node1")
    adding = subprocess.Popen(
        [
            *(*PRONOTE_DC, "school", "add", new, "--name", "Lycée du nœud perdu"),
            *("--mobile", "0612345678", "--email", "perdu@example.org"),
        ],
        env=dc.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def volume_made_on_node1() -> bool:  # "ready": its container (and volume) created there
        try:
            tasks = manager.api.tasks(filters={"service": service})
        except docker.errors.NotFound:
            return False  # not created yet
        return any(
            t.get("NodeID") == node1 and t["Status"]["State"] in {"ready", "starting", "running"}
            for t in tasks
        )

    try:
        wait_for(volume_made_on_node1, 60, f"the task of {new} prepared on node1")
    finally:
        engine.api.kill(f"pdc-lab-{lab['name']}-node1")  # the hypervisor lost
    try:
        lost_at = time.monotonic()
        _, stderr = adding.communicate(timeout=180)
        message = " ".join(stderr.split())
        print(
            f"node1 lost while provisioning {new}: refused {time.monotonic() - lost_at:.1f} s later"
        )
        assert adding.returncode != 0, message
        assert f"node node1 was lost while school {new} was being started on it" in message, message
        assert "`pronote-dc nodes remove node1`" in message and "Retry now" in message, message
        # Rolled back at once: no service, no school, no lease.
        assert service not in {s["Spec"]["Name"] for s in manager.api.services()}
        assert new not in schools(dc)
        registry = sqlite3.connect(f"file:{dc.state_dir / 'registry.sqlite3'}?mode=ro", uri=True)
        assert registry.execute("SELECT * FROM leases WHERE uai=?", (new,)).fetchall() == []
        registry.close()
        # Its volume on node1 waits for node1, in Swarm's own store (no controller state).
        waiting = manager.api.services(filters={"label": f"{LABEL}.volume={service}"})
        assert [s["Spec"]["Labels"][f"{LABEL}.node-id"] for s in waiting] == [node1]
    finally:  # node1 back whatever happened, or every later test inherits a dead node
        back_at = time.monotonic()
        cli(lab["env"], "lab", "start-node", "1", "--lab", lab["name"])
    node1_engine = docker.DockerClient(
        base_url=f"tcp://{lab['nodes'][1]['address']}:2375", version="1.41", timeout=10
    )

    def volume_gone() -> bool:
        try:
            names = {v["Name"] for v in node1_engine.api.volumes()["Volumes"] or []}
        except (docker.errors.DockerException, OSError):
            return False  # node1's engine is still starting
        waiting = manager.api.services(filters={"label": f"{LABEL}.volume={service}"})
        return service not in names and not waiting

    wait_for(volume_gone, 180, f"the volume {service} removed from node1 once it is back")
    print(f"node1 back: the volume of {new} removed {time.monotonic() - back_at:.1f} s later")
    node1_engine.close()


def test_a_restarted_controller_adopts_every_service_with_no_duplicate(
    lab: dict[str, Any], dc: Datacenter
) -> None:
    before = placement(lab["manager"])
    dc.stop()
    dc.start()
    wait_for(lambda: all(s.state == "running" for s in schools(dc).values()), 60, "all running")
    page = samples(f"http://{dc.http_address}/metrics")
    assert value(page, "pronote_fleet_reconcile_actions_total", action="adopted") == SCHOOLS
    assert value(page, "pronote_fleet_reconcile_actions_total", action="restarted") == 0
    services = lab["manager"].api.services(filters={"label": f"{LABEL}.school"})
    assert len(services) == SCHOOLS
    assert placement(lab["manager"]) == before


def test_bad_nodes_are_refused_clearly_and_nothing_joins(
    lab: dict[str, Any], dc: Datacenter
) -> None:
    env, key = dc.env, lab["key"]
    before = {n["ID"] for n in lab["manager"].api.nodes()}
    network = ipaddress.ip_network(lab["nodes"][0]["address"] + "/24", strict=False)
    nobody = str(network[200])  # on the lab bridge, no sshd there
    message = refused(env, "nodes", "add", f"ssh://root@{nobody}", "--key", key)
    assert f"cannot reach {nobody} over SSH" in message and "nothing was changed" in message
    # A host up whose port refuses the connection, and one whose sshd refuses our key.
    address1 = lab["nodes"][1]["address"]
    message = refused(env, "nodes", "add", f"ssh://root@{address1}:2222", "--key", key)
    assert f"cannot reach {address1} over SSH" in message and "nothing was changed" in message
    stranger = Path(lab["key"]).with_name("stranger_ed25519")
    stranger.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
    )
    stranger.chmod(0o600)
    message = refused(env, "nodes", "add", f"ssh://root@{address1}", "--key", str(stranger))
    assert f"{address1} refused the SSH login of root" in message, message
    assert "--key" in message and "nothing was changed" in message
    # A host where the user is not root (and cannot sudo).
    node1 = f"pdc-lab-{lab['name']}-node1"
    engine = engine_or_skip()
    setup = (
        "useradd -m pdc && mkdir -p /home/pdc/.ssh && cp /root/.ssh/authorized_keys "
        "/home/pdc/.ssh/ && chown -R pdc /home/pdc/.ssh"
    )
    engine.containers.get(node1).exec_run(["sh", "-c", setup])
    message = refused(env, "nodes", "add", f"ssh://pdc@{address1}", "--key", key)
    assert "is not root" in message and "nothing was changed" in message
    # An agent image the manager does not have cannot be loaded on the host.
    missing = f"{lab['runtime']}?image=pronote-dc/agent:missing"
    message = refused(
        env, "nodes", "add", f"ssh://root@{address1}", "--key", key, "--runtime", missing
    )
    assert "pronote-dc/agent:missing is not on the manager" in message
    assert {n["ID"] for n in lab["manager"].api.nodes()} == before
    # The manager unreachable: the runtime URL names it.
    message = refused(env, "nodes", "list", "--runtime", f"swarm://{nobody}:2375")
    assert f"cannot reach the swarm manager of runtime swarm://{nobody}:2375" in message


def test_nodes_add_installs_the_engine_on_a_bare_host_and_an_image_not_loaded_joins_nothing(
    lab: dict[str, Any], dc: Datacenter
) -> None:
    """A host with sshd and no engine (`lab add-host`): `nodes add` installs docker.io from the
    .deb files `make docker-images` downloaded (the host reaches no mirror), then cannot load
    the agent image on a full disk (a 1 MiB /tmp): refused naming the host, not joined, no
    label. Once the disk is freed, the same command joins it."""
    debs = swarm_nodes.default_debs_dir()
    if not list(debs.glob("*/docker.io_*.deb")):
        reason = f"no docker.io packages in {debs}: run `make docker-images`"
        if os.environ.get("CI") == "true":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    manager, engine = lab["manager"], engine_or_skip()
    host = json.loads(cli(lab["env"], "lab", "add-host", "--lab", lab["name"], "--json"))[0]
    container = engine.containers.get(host["node"])
    assert container.exec_run(["sh", "-c", "command -v dockerd"]).exit_code != 0  # bare
    assert container.exec_run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", "/tmp"])[0] == 0
    before = {n["ID"] for n in manager.api.nodes()}
    started = time.monotonic()
    message = refused(dc.env, "nodes", "add", host["ssh"], "--key", lab["key"])
    print(f"bare host: engine installed, image refused in {time.monotonic() - started:.1f} s")
    assert f"the agent image {IMAGE} could not be loaded on {host['address']}" in message, message
    assert "nothing joined the swarm" in message and "nodes add" in message, message
    assert {n["ID"] for n in manager.api.nodes()} == before
    swarm_state = container.exec_run(["docker", "info", "--format", "{{.Swarm.LocalNodeState}}"])
    assert isinstance(swarm_state.output, bytes)
    assert swarm_state.output.strip() == b"inactive"  # the engine runs, not joined
    assert container.exec_run(["sh", "-c", "ls /tmp/pronote-dc-agent-*"]).exit_code != 0

    assert container.exec_run(["umount", "/tmp"])[0] == 0
    started = time.monotonic()
    dc.cli("nodes", "add", host["ssh"], "--key", lab["key"])
    print(f"bare host joined once its disk was freed in {time.monotonic() - started:.1f} s")
    joined = [n for n in manager.api.nodes() if n["ID"] not in before]
    assert len(joined) == 1 and joined[0]["Status"]["State"] == "ready"
    assert joined[0]["Spec"]["Labels"][NODE_LABEL] == host["address"]
    assert container.exec_run(["docker", "image", "inspect", IMAGE]).exit_code == 0
    # Leave the lab as it was for the next tests.
    hostname = joined[0]["Description"]["Hostname"]
    dc.cli("nodes", "remove", hostname, "--force")
    container.exec_run(["docker", "swarm", "leave", "--force"])


def test_a_pool_clashing_with_a_network_of_the_swarm_is_refused(
    lab: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    state = tmp_path_factory.mktemp("clash") / "state"
    state.mkdir()
    clashing = Datacenter(state, "172.18.0.0/24", runtime=f"{lab['runtime']}?image={IMAGE}")
    with pytest.raises(RuntimeError, match="clashes with the network 'docker_gwbridge'"):
        clashing.start()
    overlays = [n for n in lab["manager"].api.networks() if "172-18-0-0" in n["Name"]]
    assert overlays == []  # nothing half-created


def test_clean_leaves_nothing(lab: dict[str, Any], dc: Datacenter) -> None:
    dc.stop()
    dc.cli("clean", "--yes")
    manager = lab["manager"]
    assert manager.api.services(filters={"label": f"{LABEL}.school"}) == []
    assert [n for n in manager.api.networks() if n["Name"].startswith("pdc-overlay-")] == []
    assert json.loads(dc.cli("clean", "--yes", "--json").stdout) == []
    routes = subprocess.run(["ip", "route"], capture_output=True, text=True, check=True).stdout
    assert dc.pool not in routes
    for node in json.loads(dc.cli("nodes", "list", "--json").stdout):
        if node["state"] == "ready":
            engine = docker.DockerClient(base_url=f"tcp://{node['address']}:2375", timeout=30)
            volumes = engine.api.volumes(filters={"label": f"{LABEL}.school"})["Volumes"]
            assert not volumes, f"{node['hostname']} keeps {volumes}"
            engine.close()
