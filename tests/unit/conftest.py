"""The unit tier needs nothing and runs in seconds: a unit test that hangs fails fast."""

from __future__ import annotations

from pathlib import Path

import pytest

UNIT_TIMEOUT_SECONDS = 20.0
UNIT_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(UNIT_DIR) and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(UNIT_TIMEOUT_SECONDS))
