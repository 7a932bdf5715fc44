"""A real Prometheus sees PRONOTE.net's publication state change when the console stops it
(issue 5: "publication state"), through the controller's service discovery."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.harness import Datacenter, free_pool, running_datacenter, uai, wait_for
from tests.integration.prometheus_server import Prometheus, prometheus_scraping

SCRAPE_TIMEOUT_SECONDS = 60.0
PAGES = {
    "commune", "direction", "professeur", "viescolaire", "parent", "accompagnant", "eleve",
    "entreprise", "academie",
}  # fmt: skip


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Datacenter]:
    with running_datacenter(tmp_path, free_pool(first_octets="127.160")) as dc:
        dc.provision("0311500")
        yield dc


@pytest.fixture
def prometheus(tmp_path: Path, fleet: Datacenter) -> Iterator[Prometheus]:
    with prometheus_scraping(tmp_path / "prometheus", fleet.http_address) as server:
        yield server


def test_prometheus_sees_the_publication_stop_and_start_again(
    fleet: Datacenter, prometheus: Prometheus
) -> None:
    school = uai("0311500")
    published = f'pronote_net_published{{uai="{school}"}}'
    wait_for(lambda: prometheus.query(f"{published} == 1"), timeout=SCRAPE_TIMEOUT_SECONDS)
    espaces = prometheus.query(f'pronote_net_espace_published{{uai="{school}"}}')
    assert {r["metric"]["espace"]: r["value"][1] for r in espaces} == dict.fromkeys(PAGES, "1")

    fleet.cli("console", "pronote-net", "stop", "--uai", school)
    fleet.cli("console", "pronote-net", "espace", "entreprise", "--no-publish", "--uai", school)
    wait_for(lambda: prometheus.query(f"{published} == 0"), timeout=SCRAPE_TIMEOUT_SECONDS)
    unpublished = wait_for(
        lambda: prometheus.query(f'pronote_net_espace_published{{uai="{school}"}} == 0'),
        timeout=SCRAPE_TIMEOUT_SECONDS,
    )
    assert [r["metric"]["espace"] for r in unpublished] == ["entreprise"]
    # The fleet dashboard's table of stopped schools lists it.
    assert [r["metric"]["uai"] for r in prometheus.query("pronote_net_published == 0")] == [school]

    fleet.cli("console", "pronote-net", "publish", "--uai", school)
    wait_for(lambda: prometheus.query(f"{published} == 1"), timeout=SCRAPE_TIMEOUT_SECONDS)
