"""A real Prometheus scrapes a running fleet through the controller's service discovery."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from protos import console_pb2
from tests.integration.harness import Datacenter, wait_for
from tests.integration.metrics_helpers import metrics_datacenter
from tests.integration.prometheus_server import MONITORING, Prometheus, prometheus_scraping

SCRAPE_TIMEOUT_SECONDS = 60.0


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Datacenter]:
    with metrics_datacenter(tmp_path) as dc:
        for seven_digits in ("0750051", "0130052", "6200053"):
            dc.provision(seven_digits)
        yield dc


@pytest.fixture
def prometheus(tmp_path: Path, fleet: Datacenter) -> Iterator[Prometheus]:
    with prometheus_scraping(tmp_path / "prometheus", fleet.http_address) as server:
        yield server


def by_uai(result: list[dict[str, object]]) -> dict[str, str]:
    return {r["metric"]["uai"]: r["value"][1] for r in result}  # type: ignore[index]


def test_prometheus_discovers_and_scrapes_every_school(
    fleet: Datacenter, prometheus: Prometheus
) -> None:
    uais = {s.uai for s in fleet.operator().ListSchools(_list()).schools}
    up = wait_for(
        lambda: len(r := prometheus.query('up{job="pronote-schools"} == 1')) == 3 and r,
        timeout=SCRAPE_TIMEOUT_SECONDS,
    )
    assert {r["metric"]["uai"] for r in up} == uais
    academies = {r["metric"]["uai"][:3]: r["metric"]["academie"] for r in up}
    assert academies == {"075": "paris", "013": "aix-marseille", "620": "corse"}

    capacity = prometheus.query('pronote_licences_capacity{licence="modification"}')
    assert set(by_uai(capacity).values()) == {"4"}
    serving = prometheus.query('pronote_server_state{state="serving"}')
    assert set(by_uai(serving).values()) == {"1"}
    sessions = prometheus.query("sum by (mode) (pronote_sessions)")
    assert {r["metric"]["mode"] for r in sessions} == {
        "administratif",
        "enseignant",
        "vie_scolaire",
        "edt",
    }
    running = wait_for(
        lambda: prometheus.query('pronote_fleet_schools{job="pronote-controller",state="running"}'),
        timeout=SCRAPE_TIMEOUT_SECONDS,
    )
    assert running[0]["value"][1] == "3"
    assert prometheus.firing("SchoolServerDown") == []
    # Before the first scrape `absent(up)` holds; with `for:` shortened to 2 s it may fire
    # then, and must resolve once the controller is scraped.
    wait_for(lambda: not prometheus.firing("ControllerDown"), timeout=SCRAPE_TIMEOUT_SECONDS)


def test_school_server_down_fires_when_a_school_stops_answering(
    fleet: Datacenter, prometheus: Prometheus
) -> None:
    """A hung server (SIGSTOP: its process lives, so nothing restarts it; a killed one is back
    within a second, DESIGN decision 31) is not scraped and alerts."""
    wait_for(
        lambda: len(prometheus.query('up{job="pronote-schools"} == 1')) == 3,
        timeout=SCRAPE_TIMEOUT_SECONDS,
    )
    victim = fleet.operator().ListSchools(_list()).schools[0]
    pid = fleet.school_pid(victim.uai)
    os.kill(pid, signal.SIGSTOP)
    try:
        firing = wait_for(
            lambda: prometheus.firing("SchoolServerDown"), timeout=SCRAPE_TIMEOUT_SECONDS
        )
        assert [(a["uai"], a["severity"]) for a in firing] == [(victim.uai, "critical")]
        # The other schools and the controller are still scraped.
        assert len(prometheus.query('up{job="pronote-schools"} == 1')) == 2
        assert prometheus.query('up{job="pronote-controller"}')[0]["value"][1] == "1"
    finally:
        os.kill(pid, signal.SIGCONT)


def _list() -> console_pb2.ListSchoolsRequest:
    return console_pb2.ListSchoolsRequest()


def test_every_dashboard_query_is_valid_promql_with_data_for_the_school(
    fleet: Datacenter, prometheus: Prometheus
) -> None:
    school = fleet.operator().ListSchools(_list()).schools[0]
    wait_for(
        lambda: prometheus.query(f'pronote_school_up{{uai="{school.uai}"}}'),
        timeout=SCRAPE_TIMEOUT_SECONDS,
    )
    # The `$uai` variable's query, as Grafana asks it.
    values = prometheus.api("label/uai/values", **{"match[]": "pronote_school_up"})
    assert school.uai in values
    for path in sorted((MONITORING / "grafana/dashboards").glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel["targets"]:
                expr = target["expr"].replace("$uai", school.uai)
                prometheus.query(expr)  # raises unless Prometheus accepts the expression
