"""What the local runtime does so that a school costs little memory (DESIGN decision 32),
through real schools: HTTP ports bound from the start but built at their first connection,
and a demo school populated before its server starts (DESIGN decision 38)."""

from __future__ import annotations

import errno
import json
import socket
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from protos import common_pb2
from tests.integration.harness import Client, Datacenter, account, free_pool, running_datacenter

METRICS_PORT = 49380
PRONOTE_NET_PORT = 8080


def http_get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_http_ports_are_held_from_the_start_and_serve_at_their_first_connection(
    datacenter: Datacenter,
) -> None:
    school = datacenter.provision("0750111", demo=False).school
    for port in (METRICS_PORT, PRONOTE_NET_PORT):  # nobody has connected yet: still held
        with socket.socket() as squatter, pytest.raises(OSError) as taken:
            squatter.bind((school.address, port))
        assert taken.value.errno == errno.EADDRINUSE
    status, body = http_get(f"http://{school.address}:{METRICS_PORT}/metrics")
    assert status == 200 and b"pronote_" in body
    status, body = http_get(f"http://{school.address}:{PRONOTE_NET_PORT}/pronote/")
    assert status == 200 and b"<html" in body.lower()  # the page commune
    status, _ = http_get(f"http://{school.address}:{METRICS_PORT}/nothing")
    assert status == 404


def test_a_demo_school_starts_populated(tmp_path: Path) -> None:
    # Without same-page merging (DESIGN decision 35) too: nothing is restarted either way.
    with running_datacenter(tmp_path, free_pool(), page_merging="off") as datacenter:
        check_started_populated(datacenter)


def check_started_populated(datacenter: Datacenter) -> None:
    school = datacenter.provision("0750112", demo=True).school
    school_dir = datacenter.state_dir / "schools" / school.uai
    log = (school_dir / "agent.log").read_text()
    # Populated by a helper of the warm parent before it started (DESIGN decision 38), then
    # started once: its log says it served once, and its state was saved before that.
    assert log.count(f"school {school.uai} serving on {school.address}:49300") == 1
    state_saved = (school_dir / "data" / "state.json").stat().st_mtime
    started = (school_dir / "agent.pid").stat().st_mtime  # written once it serves
    assert state_saved <= started
    pid = datacenter.school_pid(school.uai)
    assert pid and pid == school.pid
    # It holds what the helper saved: the base in service and the sample accounts, whose
    # passwords it checks.
    bases = json.loads(datacenter.cli("console", "bases", "--uai", school.uai, "--json").stdout)
    assert [base["in_service"] for base in bases["bases"]] == [True]
    teacher = account(school, "enseignant")
    client = Client(school.address)
    try:
        session = client.connect(teacher.login, teacher.password, common_pb2.MODE_ENSEIGNANT)
        assert session.session_id
        client.disconnect(session.session_id)
    finally:
        client.close()
    status, body = http_get(f"http://{school.address}:{PRONOTE_NET_PORT}/pronote/")
    assert status == 200 and b"<html" in body.lower()  # its page commune, published
