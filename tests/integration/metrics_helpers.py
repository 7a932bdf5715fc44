"""Reading /metrics and service discovery over real HTTP, as Prometheus does."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.integration.harness import Datacenter, free_pool, running_datacenter

METRICS_POOL_OCTET = 80  # this tier's loopback range: 127.80.0.0/16
Page = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def http_get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def samples(url: str) -> Page:
    """Every sample of a /metrics page: (name, sorted labels) -> value."""
    status, text = http_get(url)
    assert status == 200, text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(page: Page, name: str, **labels: str) -> float:
    return page[(name, tuple(sorted(labels.items())))]


def names(page: Page) -> set[str]:
    return {name for name, _ in page}


def targets(dc: Datacenter) -> list[dict[str, Any]]:
    status, text = http_get(f"http://{dc.http_address}/sd/schools")
    assert status == 200, text
    groups: list[dict[str, Any]] = json.loads(text)
    return groups


@contextmanager
def metrics_datacenter(tmp_path: Path, **settings: str) -> Iterator[Datacenter]:
    pool = free_pool(first_octets=f"127.{METRICS_POOL_OCTET}")
    with running_datacenter(tmp_path, pool, **settings) as dc:
        yield dc
