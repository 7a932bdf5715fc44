"""What every tier shares: the measured rates in the run's closing summary, and the log of the
controller a failed test ran against."""

from __future__ import annotations

from collections.abc import Generator

import pytest

from tests.rates import RATES

CONTROLLER_LOG_CHARS = 8000
# How many controller logs had been started when a test's setup began (harness.STARTED_LOGS).
STARTED_BEFORE = pytest.StashKey[int]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    from tests.integration.harness import STARTED_LOGS

    item.stash[STARTED_BEFORE] = len(STARTED_LOGS)
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test shows the end of its controllers' logs: those of its `Datacenter`
    fixtures and of every one it started itself. What the controller saw (a WARNING naming
    what held its event loop, DESIGN 46) is often all CI can tell of a flake."""
    report = yield
    if report.failed:
        from tests.integration.harness import STARTED_LOGS, Datacenter, log_tail

        logs = [
            v.log_path for v in getattr(item, "funcargs", {}).values() if isinstance(v, Datacenter)
        ]
        logs += STARTED_LOGS[item.stash.get(STARTED_BEFORE, len(STARTED_LOGS)) :]
        for path in dict.fromkeys(logs):  # once each, in order
            tail = log_tail(path, CONTROLLER_LOG_CHARS)
            if tail:
                report.sections.append((f"controller log {path} ({report.when})", tail))
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if RATES:
        terminalreporter.section("rates measured by the tiers")
        for line in RATES:
            terminalreporter.write_line(line)
