"""What every tier shares: the measured rates in the run's closing summary, and the log of the
controller a failed test ran against."""

from __future__ import annotations

from collections.abc import Generator

import pytest

from tests.rates import RATES

CONTROLLER_LOG_CHARS = 8000


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test shows the end of its controllers' logs: what the controller saw (a
    WARNING naming what held its event loop, DESIGN 46) is often what CI can tell of a flake."""
    report = yield
    if report.failed:
        from tests.integration.harness import Datacenter

        for name, value in getattr(item, "funcargs", {}).items():
            if isinstance(value, Datacenter):
                tail = value.log(CONTROLLER_LOG_CHARS)
                if tail:
                    report.sections.append((f"controller log of `{name}` ({report.when})", tail))
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if RATES:
        terminalreporter.section("rates measured by the tiers")
        for line in RATES:
            terminalreporter.write_line(line)
