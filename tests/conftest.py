"""What every tier shares: the measured rates in the run's closing summary."""

from __future__ import annotations

import pytest

from tests.rates import RATES


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if RATES:
        terminalreporter.section("rates measured by the tiers")
        for line in RATES:
            terminalreporter.write_line(line)
