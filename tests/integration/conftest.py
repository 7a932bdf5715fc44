from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.harness import Datacenter, free_pool, running_datacenter


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture
def datacenter(tmp_path: Path) -> Iterator[Datacenter]:
    """A running controller on its own state dir and address pool; everything stopped after."""
    with running_datacenter(tmp_path, free_pool()) as dc:
        yield dc
