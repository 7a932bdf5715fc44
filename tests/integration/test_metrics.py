"""Each school's /metrics, the controller's /metrics and service discovery, over real HTTP."""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from protos import console_pb2
from tests.integration.harness import Datacenter, account, client, rpc_error, uai, wait_for
from tests.integration.metrics_helpers import (
    http_get,
    metrics_datacenter,
    names,
    samples,
    targets,
    value,
)


@pytest.fixture
def datacenter(tmp_path: Path) -> Iterator[Datacenter]:
    with metrics_datacenter(tmp_path) as dc:
        yield dc


def test_service_discovery_lists_every_school_with_its_labels(datacenter: Datacenter) -> None:
    assert targets(datacenter) == []
    paris = datacenter.provision("0750021", demo=False).school
    corsica = datacenter.provision("6200001", demo=False).school
    groups = targets(datacenter)
    assert groups == [
        {"targets": [f"{paris.address}:49380"], "labels": {"uai": paris.uai, "academie": "paris"}},
        {
            "targets": [f"{corsica.address}:49380"],
            "labels": {"uai": corsica.uai, "academie": "corse"},
        },
    ]
    status, text = http_get(f"http://{datacenter.http_address}/sd/schools/{paris.uai}")
    assert (status, json.loads(text)) == (200, groups[:1])

    datacenter.operator().DeprovisionSchool(console_pb2.SchoolRef(uai=corsica.uai))
    assert targets(datacenter) == groups[:1]


def test_unknown_paths_and_schools_answer_404(datacenter: Datacenter) -> None:
    base = f"http://{datacenter.http_address}"
    status, text = http_get(f"{base}/sd/schools/0750021L")
    assert status == 404
    assert "no school 0750021L" in json.loads(text)["error"]
    assert http_get(f"{base}/nothing")[0] == 404
    school = datacenter.provision("0750022", demo=False).school
    assert http_get(f"http://{school.address}:49380/nothing")[0] == 404


def test_a_school_exposes_its_live_state(datacenter: Datacenter) -> None:
    school = datacenter.provision("0750023").school
    url = f"http://{school.address}:49380/metrics"
    before = samples(url)
    assert value(before, "pronote_school_up") == 1
    assert value(before, "pronote_server_state", state="serving") == 1
    assert value(before, "pronote_licences_capacity", licence="modification") == 4
    assert value(before, "pronote_licences_capacity", licence="enseignant") == 30
    for mode in ("administratif", "enseignant", "vie_scolaire", "edt"):
        assert value(before, "pronote_sessions", mode=mode) == 0
    assert value(before, "pronote_sessions_refused_total", reason="bad_credentials") == 0
    assert not any(name.endswith("_created") for name in names(before))

    admin = account(school, "administratif")
    with client(school.address) as c:
        c.connect(admin.login, admin.password)
        for _ in range(5):
            error = rpc_error(c.connect, admin.login, "wrong")
            assert error.code() == grpc.StatusCode.UNAUTHENTICATED
        refused = rpc_error(c.connect, admin.login, admin.password)
        assert refused.code() == grpc.StatusCode.PERMISSION_DENIED
        after = samples(url)

    assert value(after, "pronote_sessions", mode="administratif") == 1
    assert value(after, "pronote_licences_in_use", licence="modification") == 1
    assert value(after, "pronote_authentication_failures_total") == 5
    assert value(after, "pronote_sessions_refused_total", reason="bad_credentials") == 5
    assert value(after, "pronote_sessions_refused_total", reason="suspended_ip") == 1
    assert value(after, "pronote_suspended_ips") == 1
    assert value(after, "pronote_ip_suspensions_total") == 1
    # Bounded cardinality: no label carries an IP, a login or a session.
    label_values = {v for _, labels in after for _, v in labels}
    assert not label_values & {"127.0.0.1", admin.login, school.address}


def test_controller_metrics_count_schools_provisioning_and_console_calls(
    datacenter: Datacenter,
) -> None:
    url = f"http://{datacenter.http_address}/metrics"
    school = datacenter.provision("0750024", demo=False).school
    operator = datacenter.operator()
    operator.ListBases(console_pb2.SchoolRef(uai=school.uai))
    missing = rpc_error(operator.ListBases, console_pb2.SchoolRef(uai=uai("0750025")))
    assert missing.code() == grpc.StatusCode.NOT_FOUND

    # An aborted call's status may reach the client before the server's interceptor records it.
    rpcs = "pronote_console_rpc_duration_seconds_count"
    page = wait_for(lambda: (p := samples(url)) and value(p, rpcs, method="ListBases") == 2 and p)
    assert value(page, "pronote_fleet_schools", state="running") == 1
    assert value(page, "pronote_fleet_schools", state="down") == 0
    assert value(page, "pronote_fleet_provision_duration_seconds_count") == 1
    errors = "pronote_console_rpc_errors_total"
    assert value(page, errors, method="ListBases", code="NOT_FOUND") == 1
    assert value(page, errors, method="GetSchool", code="NOT_FOUND") == 0
    assert value(page, "pronote_fleet_reconcile_actions_total", action="restarted") == 0
    # Its event loop's timer, due every second from the start, is measured (DESIGN 46).
    lags = "pronote_controller_event_loop_lag_seconds_count"
    assert wait_for(lambda: value(samples(url), lags) >= 2)


def test_a_dead_or_restarting_school_never_breaks_the_controller_endpoints(
    datacenter: Datacenter,
) -> None:
    schools = [datacenter.provision(f"075003{n}", demo=False).school for n in (1, 2)]
    victim = schools[0]
    old_pid = datacenter.school_pid(victim.uai)
    os.kill(old_pid, signal.SIGKILL)
    # While the school is dead and being restarted, both endpoints keep answering in full.
    seen_states: set[str] = set()

    def restarted() -> bool:
        page = samples(f"http://{datacenter.http_address}/metrics")
        seen_states.update(
            dict(labels)["state"]
            for (name, labels), v in page.items()
            if name == "pronote_fleet_schools" and v
        )
        assert len(targets(datacenter)) == 2
        return datacenter.school_pid(victim.uai) not in (0, old_pid)

    wait_for(restarted)
    page = wait_for(lambda: samples(f"http://{victim.address}:49380/metrics"))
    assert value(page, "pronote_school_up") == 1
    controller = samples(f"http://{datacenter.http_address}/metrics")
    assert value(controller, "pronote_fleet_reconcile_actions_total", action="restarted") == 1
    assert "running" in seen_states


def test_service_discovery_stays_valid_json_while_schools_come_and_go(
    datacenter: Datacenter,
) -> None:
    stop = threading.Event()
    seen: list[int] = []
    problems: list[str] = []

    def poll() -> None:
        while not stop.is_set():
            status, text = http_get(f"http://{datacenter.http_address}/sd/schools")
            try:
                groups = json.loads(text)
                assert status == 200 and all(len(g["targets"]) == 1 for g in groups)
                seen.append(len(groups))
            except (ValueError, AssertionError, KeyError, TypeError):
                problems.append(f"{status} {text[:200]}")

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        schools = [datacenter.provision(f"075007{n}", demo=False).school for n in range(3)]
        for school in schools:
            datacenter.operator().DeprovisionSchool(console_pb2.SchoolRef(uai=school.uai))
    finally:
        stop.set()
        poller.join()
    assert problems == []
    assert max(seen) >= 1
    assert targets(datacenter) == []
