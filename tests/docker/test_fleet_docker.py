"""Schools as containers: each on its own bridge IP, restarted, adopted, deprovisioned."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import docker
import pytest

from protos import common_pb2, console_pb2
from tests.docker.engine import containers, instance_of, volumes
from tests.integration.harness import (
    PRONOTE_DC,
    Datacenter,
    account,
    client,
    running_datacenter,
    wait_for,
)

SCHOOLS = 20


def leases(dc: Datacenter) -> dict[str, str]:
    with sqlite3.connect(dc.state_dir / "registry.sqlite3") as db:
        return {uai: address for address, uai in db.execute("SELECT address, uai FROM leases")}


def running(engine: docker.DockerClient, dc: Datacenter) -> Counter[str]:
    return Counter(
        c["Labels"]["pronote-dc.school"]
        for c in containers(engine, dc.state_dir)
        if c["State"] == "running"
    )


def test_twenty_schools_run_as_containers_each_on_its_own_ip(
    engine: docker.DockerClient, docker_dc: Datacenter
) -> None:
    operator = docker_dc.operator()
    schools = [docker_dc.provision(f"07501{n:02d}").school for n in range(SCHOOLS)]

    # one running container per school, at the address its lease says
    assert running(engine, docker_dc) == Counter({s.uai: 1 for s in schools})
    by_uai = {c["Labels"]["pronote-dc.school"]: c for c in containers(engine, docker_dc.state_dir)}
    for school in schools:
        networks = by_uai[school.uai]["NetworkSettings"]["Networks"]
        assert [n["IPAMConfig"]["IPv4Address"] for n in networks.values()] == [school.address]
    assert leases(docker_dc) == {s.uai: s.address for s in schools}
    assert len({s.address for s in schools}) == SCHOOLS

    # each answers on its own IP, port 49300, with its own state
    for school in schools:
        with client(school.address) as c:
            info = c.info()
            assert (info.uai, info.school_name) == (school.uai, school.name)
            teacher = account(school, "enseignant")
            c.connect(teacher.login, teacher.password, common_pb2.MODE_ENSEIGNANT)

    # the container's own HEALTHCHECK command says the same
    healthcheck = engine.images.get("pronote-dc/agent:latest").attrs["Config"]["Healthcheck"]
    assert healthcheck["Test"][0] == "CMD" and "vm_agent.healthcheck" in healthcheck["Test"]
    probe = engine.containers.get(by_uai[schools[1].uai]["Id"]).exec_run(healthcheck["Test"][1:])
    assert isinstance(probe.output, bytes)
    assert (probe.exit_code, probe.output.decode().strip()) == (0, "SERVING")

    # a killed container comes back with its data
    victim = schools[3]
    operator.SetReservedLicences(console_pb2.SetReservedLicencesRequest(uai=victim.uai, count=2))
    bases_before = operator.ListBases(console_pb2.SchoolRef(uai=victim.uai))
    old_id = by_uai[victim.uai]["Id"]
    engine.api.kill(old_id)

    def serves_again() -> bool:
        try:
            return bool(operator.ListBases(console_pb2.SchoolRef(uai=victim.uai)).bases)
        except Exception:
            return False

    wait_for(lambda: running(engine, docker_dc)[victim.uai] == 1 and serves_again(), timeout=60)
    assert operator.ListBases(console_pb2.SchoolRef(uai=victim.uai)) == bases_before
    usage = operator.GetLicences(console_pb2.SchoolRef(uai=victim.uai))
    assert usage.reserved_for_administration == 2
    admin = account(victim, "administratif")
    with client(victim.address) as c:
        c.connect(admin.login, admin.password)

    # a controller crash and restart adopts every container: no duplicates, same containers
    ids_before = {c["Id"] for c in containers(engine, docker_dc.state_dir)}
    docker_dc.stop(signal.SIGKILL)
    docker_dc.start()
    listed = operator_list(docker_dc)
    assert {s.uai: s.state for s in listed} == {s.uai: "running" for s in schools}
    assert "20 schools (20 adopted)" in docker_dc.log().replace("\n", " ")
    assert {c["Id"] for c in containers(engine, docker_dc.state_dir)} == ids_before
    assert running(engine, docker_dc) == Counter({s.uai: 1 for s in schools})

    # deprovision: container and lease gone, data volume gone, backups volume kept
    gone = schools[0]
    docker_dc.cli("school", "remove", gone.uai, "--yes")
    assert gone.uai not in running(engine, docker_dc)
    assert gone.uai not in leases(docker_dc)
    prefix = f"pdc-{instance_of(docker_dc.state_dir)}-{gone.uai}"
    assert f"{prefix}-backups" in volumes(engine, docker_dc.state_dir)
    assert f"{prefix}-data" not in volumes(engine, docker_dc.state_dir)
    backups = engine.containers.run(
        "pronote-dc/agent:latest",
        ["ls", "/backups"],
        volumes={f"{prefix}-backups": {"bind": "/backups", "mode": "ro"}},
        labels={"pronote-dc.test": "backups"},
        remove=True,
    )
    assert backups.decode().split(), "the removed school left a last backup"


def _ours(container: dict[str, Any]) -> bool:
    return any(key.startswith("pronote-dc.") for key in container.get("Labels") or {})


def _mine(container: dict[str, Any], dc: Datacenter) -> bool:
    return bool(container["Labels"].get("pronote-dc.instance") == instance_of(dc.state_dir))


def operator_list(dc: Datacenter) -> list[console_pb2.School]:
    return list(dc.operator().ListSchools(console_pb2.ListSchoolsRequest()).schools)


def test_clean_removes_what_the_project_created_and_keeps_backups(
    engine: docker.DockerClient, docker_dc: Datacenter
) -> None:
    others = [c for c in engine.api.containers(all=True) if _ours(c) and not _mine(c, docker_dc)]
    if others and os.environ.get("CI") != "true":
        pytest.skip("clean removes every pronote-dc container and this engine runs others")
    school = docker_dc.provision("0750201", demo=False).school
    docker_dc.stop()
    before = subprocess.run(
        [*PRONOTE_DC, "clean", "--runtime", "docker://"],
        env=docker_dc.env,
        input="n\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert before.returncode != 0 and school.uai in before.stdout  # listed, refused: kept
    assert running(engine, docker_dc)[school.uai] == 1

    docker_dc.cli("clean", "--yes")
    assert containers(engine, docker_dc.state_dir) == []
    assert {v.rsplit("-", 1)[1] for v in volumes(engine, docker_dc.state_dir)} == {"backups"}
    assert not [n for n in engine.api.networks() if "pronote-dc.network" in (n["Labels"] or {})]

    docker_dc.cli("clean", "--yes", "--purge-backups")
    assert volumes(engine, docker_dc.state_dir) == set()
    result = subprocess.run(
        ["docker", "ps", "-aq", "--filter", "label=pronote-dc.school"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == ""


def test_a_container_removed_by_hand_is_recreated_on_the_engines_event(
    engine: docker.DockerClient, tmp_path: Path, subnet: str
) -> None:
    """DESIGN decision 31: the passes are an hour apart, so only the events stream (a `die`
    of a container with the project's labels) can bring the school back."""
    hour = "3600"
    settings = {
        "runtime": "docker://",
        "start_timeout_seconds": "60",
        "reconcile_interval_seconds": hour,
        "reconcile_full_interval_seconds": hour,
    }
    with running_datacenter(tmp_path, subnet, **settings) as dc:
        school = dc.provision("0750190", demo=False).school
        (old,) = [c for c in containers(engine, dc.state_dir) if c["State"] == "running"]
        engine.api.remove_container(old["Id"], force=True)  # Docker will not bring it back

        def recreated() -> bool:
            now = [c for c in containers(engine, dc.state_dir) if c["State"] == "running"]
            return len(now) == 1 and now[0]["Id"] != old["Id"]

        wait_for(recreated, timeout=60)
        ref = console_pb2.SchoolRef(uai=school.uai)
        wait_for(lambda: dc.operator().GetSchool(ref).state == "running", timeout=60)
        with client(school.address) as c:
            assert c.info().uai == school.uai
