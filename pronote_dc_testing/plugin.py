"""The pytest plugin (entry point `pronote_dc` in the `pytest11` group): PRONOTE schools for
other people's tests. `pytest --fixtures` and `pytest --markers` document what it offers.

It costs nothing unless its fixtures are used: this module imports only pytest and the
standard library; the data-center starts (and gRPC is imported) on the first fixture that
needs it. The one thing every run does is look for leftovers of a killed test process under
the plugin's root directory (a directory listing) and reap them.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pronote_dc_testing.embedded import EmbeddedDatacenter
    from pronote_dc_testing.school import School

BLOCK_ENV = "PRONOTE_DC_TESTING_BLOCK"
# The session school's UAI (and synthetic seed) unless told otherwise; its sample parent has
# two children (FERNANDEZ Simon and Inès).
SESSION_UAI = "0690001B"


class _Session:
    """The test process's embedded data-center and session school, started on first use."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.datacenter: EmbeddedDatacenter | None = None
        self.school: School | None = None
        self.earliest: datetime.datetime | None = None
        config.add_cleanup(self.close)  # also when the session never finishes (usage errors)

    def block(self) -> str:
        value = self.config.getoption("pronote_dc_block") or self.config.getini("pronote_dc_block")
        return str(value or os.environ.get(BLOCK_ENV) or "127.86.0.0/16")

    def start_date(self) -> datetime.datetime | None:
        from pronote_dc_testing.dates import to_datetime

        option = self.config.getoption("pronote_dc_date") or self.config.getini("pronote_dc_date")
        return to_datetime(option) if option else self.earliest

    def get_datacenter(self) -> EmbeddedDatacenter:
        if self.datacenter is None:
            from pronote_dc_testing.embedded import EmbeddedDatacenter

            self.datacenter = EmbeddedDatacenter.start(self.start_date(), block=self.block())
        return self.datacenter

    def get_school(self) -> School:
        if self.school is None:
            uai = self.config.getoption("pronote_dc_uai") or SESSION_UAI
            self.school = self.get_datacenter().add_school(uai)
        return self.school

    def close(self) -> None:
        if self.datacenter is not None:
            self.datacenter.stop()
            self.datacenter = None
            self.school = None


_SESSION = pytest.StashKey[_Session]()


def _session(config: pytest.Config) -> _Session:
    if _SESSION not in config.stash:
        config.stash[_SESSION] = _Session(config)
    return config.stash[_SESSION]


def session_datacenter(config: pytest.Config) -> EmbeddedDatacenter:
    """The test process's embedded data-center, started now if it is not yet (stopped when
    pytest ends). For hooks and conftests that need it before fixtures exist."""
    return _session(config).get_datacenter()


def session_school(config: pytest.Config) -> School:
    """The session's demo school (the `pronote_session_school` fixture), started now if it is
    not yet: for suites that build their clients at import time, from a conftest's
    `pytest_configure`."""
    return _session(config).get_school()


# -- registration --------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("pronote-dc", "PRONOTE schools for tests (pronote-dc)")
    group.addoption(
        "--pronote-dc-block",
        dest="pronote_dc_block",
        help="loopback block the data-centers' address pools are cut from "
        f"(default 127.86.0.0/16; env {BLOCK_ENV})",
    )
    group.addoption(
        "--pronote-dc-date",
        dest="pronote_dc_date",
        help="simulated date the session's data-center starts at, e.g. 2026-12-10 "
        "(default: the earliest pronote_date marker, else now)",
    )
    group.addoption(
        "--pronote-dc-uai",
        dest="pronote_dc_uai",
        help="UAI of the session school, also the seed of its synthetic school "
        f"(default {SESSION_UAI})",
    )
    parser.addini("pronote_dc_block", "like --pronote-dc-block", default="")
    parser.addini("pronote_dc_date", "like --pronote-dc-date", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "pronote_date(when): the simulated date of the test's pronote_school, e.g. "
        "'2026-12-10' or '2026-12-10T08:00' (UTC) or a date/datetime",
    )
    config.addinivalue_line(
        "markers",
        "pronote_school(uai='0750001U', formula='unlimited', name=''): which demo school "
        "pronote_school provisions (the UAI seeds its synthetic school)",
    )


def pytest_sessionstart(session: pytest.Session) -> None:
    """Reap what a killed test process left (a listing of the root; nothing when empty)."""
    if hasattr(session.config, "workerinput"):
        return  # pytest-xdist: the controller process reaps once, not every worker
    from pronote_dc_testing.leftovers import root_dir

    root = root_dir()
    if root.is_dir() and any(root.iterdir()):
        from pronote_dc_testing.leftovers import reap

        reap(root)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop the data-center when the session ends, not later at unconfigure: a pytest-xdist
    worker reports itself finished right after this hook, and its controller may exit then."""
    if _SESSION in session.config.stash:
        session.config.stash[_SESSION].close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The session's data-center starts at the earliest date a test asks for, so that later
    dates are reached by advancing its clock (it never goes back)."""
    dates = [_marker_date(marker) for item in items for marker in item.iter_markers("pronote_date")]
    if dates:
        _session(config).earliest = min(dates)


def _marker_date(marker: pytest.Mark) -> datetime.datetime:
    """The moment of a pronote_date marker; a clear UsageError for a bad one."""
    from pronote_dc_testing.dates import to_datetime

    when = marker.args[0] if marker.args else marker.kwargs.get("when")
    if when is None:
        raise pytest.UsageError(
            "pronote_date needs a date: @pytest.mark.pronote_date('2026-12-10')"
        )
    try:
        return to_datetime(when)
    except ValueError as error:
        raise pytest.UsageError(f"pronote_date: {error}") from None


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pronote_datacenter(pytestconfig: pytest.Config) -> EmbeddedDatacenter:
    """An embedded pronote-dc data-center for the test session (one per pytest-xdist worker).

    `pronote-dc up` on a private loopback pool (a /26 of --pronote-dc-block, 127.86.0.0/16 by
    default) and a private state directory under <tmp>/pronote-dc-testing-<uid>/, with a
    simulated clock starting at --pronote-dc-date (else the earliest pronote_date marker, else
    now) that moves only when asked: `.advance_clock(when)`, `.now()`. `.add_school(uai)`
    provisions a demo school; `.console` is the console gRPC API as the operator.
    Everything (controller, school servers, files) is removed at the end; a killed test
    process's leftovers are reaped by the next run.
    """
    return _session(pytestconfig).get_datacenter()


@pytest.fixture(scope="session")
def pronote_session_school(pytestconfig: pytest.Config) -> School:
    """One demo school shared by the whole session (UAI --pronote-dc-uai, default 0690001B).

    Same object as `pronote_school`, on the session data-center's clock (which tests'
    pronote_date markers move forward).
    """
    return _session(pytestconfig).get_school()


@pytest.fixture
def pronote_school(request: pytest.FixtureRequest, pytestconfig: pytest.Config) -> Iterator[School]:
    """A fresh demo school for this test, removed after it.

    `.address` (its own loopback address), `.port` (49300, Client PRONOTE), `.url("eleve")`
    and `.url("eleve", mobile=True)` (PRONOTE.net pages: commune, eleve, parent, professeur,
    viescolaire, direction...), `.account(role)` (spr, administratif, enseignant,
    vie_scolaire, parent, eleve: `.login`, `.password`), a synthetic school seeded by its
    UAI (marker `pronote_school(uai=...)`, default 0750001U: the same UAI gives the same
    school). Marker `pronote_date("2026-12-10")` sets the simulated date; `.advance_clock()`
    moves it. States a client must handle: `.stop_publication()`, `.suspend_ip()`,
    `.expire_sessions()`, `.stop_server()`, `.delegate_to_ent()` (and their undoing).
    """
    from pronote_dc_testing.embedded import DEFAULT_UAI, EmbeddedDatacenter

    school_marker = request.node.get_closest_marker("pronote_school")
    school_args: dict[str, Any] = dict(school_marker.kwargs) if school_marker else {}
    school_args.setdefault("uai", DEFAULT_UAI)
    date_marker = request.node.get_closest_marker("pronote_date")
    datacenter = _session(pytestconfig).get_datacenter()
    private: EmbeddedDatacenter | None = None
    if date_marker is not None:
        when = _marker_date(date_marker)
        if when < datacenter.now():  # the shared clock is past it: this test gets its own
            private = datacenter = EmbeddedDatacenter.start(
                when, block=_session(pytestconfig).block()
            )
        elif when > datacenter.now():
            datacenter.advance_clock(when)
    try:
        school = datacenter.add_school(**school_args)
        yield school
    finally:
        if private is not None:
            private.stop()
        elif school_args["uai"] in datacenter.schools:
            datacenter.remove_school(school_args["uai"])
