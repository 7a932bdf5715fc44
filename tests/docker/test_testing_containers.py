"""The testcontainers module (pronote_dc_testing.containers) on a real Docker engine: a school
container waited for by its health check, a small data-center of school containers, both
read by the real pronotepy client and leaving nothing behind."""

from __future__ import annotations

import datetime

import docker
import grpc
import pronotepy
import pytest

from pronote_dc_testing.containers import (
    LABEL,
    SESSION,
    PronoteDatacenterContainer,
    PronoteSchoolContainer,
)
from protos import client_pb2, client_pb2_grpc


@pytest.fixture(autouse=True)
def no_ryuk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ryuk's image comes from Docker Hub, which this tier does not need: clean-up is ours."""
    monkeypatch.setenv("TESTCONTAINERS_RYUK_DISABLED", "true")


def test_school_container(engine: docker.DockerClient) -> None:
    container = PronoteSchoolContainer(date="2026-11-20T08:00")
    with container as school:
        health = school.get_wrapped_container().attrs["State"]["Health"]["Status"]
        assert health == "healthy"
        accounts = school.get_accounts()
        assert {"spr", "enseignant", "vie_scolaire", "parent", "eleve"} <= set(accounts)
        student = accounts["eleve"]
        url = school.get_espace_url("eleve")
        assert school.get_espace_url("eleve", mobile=True).endswith("/pronote/mobile.eleve.html")
        client = pronotepy.Client(url, student["login"], student["password"])
        assert client.logged_in and client.current_period.name == "Trimestre 1"
        school.advance_clock("2026-12-10")
        again = pronotepy.Client(url, student["login"], student["password"])
        assert again.current_period.name == "Trimestre 2"
        host, port = school.get_client_address()
        with grpc.insecure_channel(f"{host}:{port}") as channel:
            stub = client_pb2_grpc.ClientPronoteStub(channel)
            info = stub.GetServerInfo(client_pb2.ServerInfoRequest(), timeout=15)
        assert info.uai == "0750001U"
        container_id = school.get_container_id()
    assert not engine.api.containers(all=True, filters={"id": container_id})


def test_datacenter_container(engine: docker.DockerClient) -> None:
    container = PronoteDatacenterContainer(schools=2, date=datetime.date(2026, 12, 10))
    with container as datacenter:
        schools = datacenter.get_schools()
        assert len({s["address"] for s in schools}) == 2
        for school in schools:
            student = next(a for a in school["sample_accounts"] if a["role"] == "eleve")
            url = next(e["url"] for e in school["espaces"] if e["page"] == "eleve")
            client = pronotepy.Client(url, student["login"], student["password"])
            assert client.logged_in
        instance = {"label": f"pronote-dc.instance={datacenter.instance()}"}
        assert len(engine.api.containers(filters=instance)) == 2
    assert not engine.api.containers(all=True, filters=instance)
    assert not engine.api.volumes(filters=instance).get("Volumes")
    assert not engine.api.containers(all=True, filters={"label": f"{LABEL}={SESSION}"})
    subnets = [
        config.get("Subnet")
        for network in engine.api.networks()
        for config in (network.get("IPAM") or {}).get("Config") or []
    ]
    assert container.subnet not in subnets
