"""PRONOTE.net test helpers: one school's espaces served in-process on a real socket, the real
pronotepy and pawnote clients, and what the synthetic school says they should read."""

from __future__ import annotations

import asyncio
import datetime
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from common.clock import SimulatedClock
from vm_agent.adapters.pronote_net.app import pronote_net_app
from vm_agent.adapters.slot import SchoolSlot
from vm_agent.domain.licences import LicencePolicy
from vm_agent.domain.school import SchoolIdentity, SchoolServer
from vm_agent.domain.school_data import Evaluation, MarkKind, Period, SchoolData, Student
from vm_agent.domain.security import SecurityPolicy

PAWNOTE_VERSION = "1.6.2"
PAWNOTE_SCRIPT = Path(__file__).parent / "pawnote" / "check.mjs"
ACTS_SCRIPT = Path(__file__).parent / "pawnote" / "acts.mjs"  # what an app does (issue 14)
PROJECT_CACHE = Path(__file__).resolve().parents[2] / ".cache"
YEAR = "2026-2027"
# A Tuesday evening in the first trimestre (UTC): report cards are out, families log in.
NOW = datetime.datetime(2026, 10, 6, 18, 0, tzinfo=datetime.UTC)


PRONOTEPY_KINDS = {  # pronotepy dataClasses.py:88-97
    MarkKind.ABSENT: "Absent",
    MarkKind.DISPENSE: "Dispense",
    MarkKind.NON_NOTE: "NonNote",
    MarkKind.INAPTE: "Inapte",
    MarkKind.NON_RENDU: "NonRendu",
    MarkKind.ABSENT_ZERO: "AbsentZero",
    MarkKind.NON_RENDU_ZERO: "NonRenduZero",
}


@dataclass
class Espaces:
    """A school server and its PRONOTE.net app, served from a thread on `address:port`."""

    school: SchoolServer
    clock: SimulatedClock
    address: str
    port: int
    passwords: dict[str, str]

    def url(self, page: str, query: str = "") -> str:
        return f"http://{self.address}:{self.port}/pronote/{page}{query}"

    @property
    def data(self) -> SchoolData:
        base = self.school.base_in_service
        assert base is not None
        return base.data

    def login_of(self, kind: str) -> str:
        return next(login for login in self.passwords if login.startswith(kind))


def new_school(uai: str, clock: SimulatedClock, maxretry: int = 5) -> SchoolServer:
    school = SchoolServer(
        identity=SchoolIdentity(uai, f"Collège {uai}"),
        licence_policy=LicencePolicy(4, 30),
        security_policy=SecurityPolicy(maxretry, 600.0, 600.0),
        idle_timeout_seconds=600.0,
        clock=clock,
        save=lambda state: None,
    )
    base = school.create_base(YEAR, seed=uai)
    school.put_in_service(base.id, "spr", "spr-password-1")
    return school


def issue_sample_passwords(school: SchoolServer) -> dict[str, str]:
    """Passwords for a student, that student's parent, a teacher and a CPE."""
    base = school.base_in_service
    assert base is not None
    data = base.data
    parent = next(r for r in data.responsables if r.child_ids)
    student = data.person_by_id(parent.child_ids[0])
    assert student is not None
    cpe = next(p for p in data.staff if p.login.startswith("cpe."))
    logins = [student.login, parent.login, data.teachers[0].login, cpe.login]
    passwords = {login: f"pw-{login}" for login in logins}
    school.issue_passwords(list(passwords.items()))
    return passwords


@contextmanager
def serve_espaces(address: str, uai: str = "0750655E", maxretry: int = 5) -> Iterator[Espaces]:
    clock = SimulatedClock(NOW.timestamp())
    school = new_school(uai, clock, maxretry)
    passwords = issue_sample_passwords(school)
    slot = SchoolSlot()
    slot.fill(school)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(pronote_net_app(slot, clock), access_log=None)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, address, 0, reuse_port=False)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield Espaces(school, clock, address, port, passwords)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.run_until_complete(runner.cleanup())
        loop.close()


def week_of(data: SchoolData, day: datetime.date) -> tuple[datetime.date, datetime.date]:
    monday = day - datetime.timedelta(days=day.weekday())
    return monday, monday + datetime.timedelta(days=7)


def pawnote_dir(tmp_root: Path) -> Path:
    """pawnote@1.6.2 installed with npm into the project's .cache (once), or skip."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        if os.environ.get("CI") == "true":
            pytest.fail("node and npm are needed for the pawnote test in CI")
        pytest.skip("node/npm not installed: the pawnote (JavaScript client) test needs them")
    target = PROJECT_CACHE / f"pawnote-{PAWNOTE_VERSION}"
    modules = target / "node_modules"
    installed = modules / "pawnote" / "package.json"
    if installed.exists():
        return modules
    PROJECT_CACHE.mkdir(parents=True, exist_ok=True)
    # Two pytest-xdist workers may both need it: one installs, the other waits and finds it.
    # npm installs into a staging directory renamed into place, so a run killed halfway
    # leaves no half-installed package that looks complete.
    with open(PROJECT_CACHE / f".pawnote-{PAWNOTE_VERSION}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if installed.exists():
            return modules
        staging = Path(tempfile.mkdtemp(prefix=f".pawnote-{PAWNOTE_VERSION}-", dir=PROJECT_CACHE))
        staging.chmod(0o755)  # as `mkdir` would make it (mkdtemp's is 0700)
        result = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--prefix", str(staging),
             f"pawnote@{PAWNOTE_VERSION}"],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        if result.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            pytest.fail(f"npm install pawnote@{PAWNOTE_VERSION} failed:\n{result.stderr[-2000:]}")
        shutil.rmtree(target, ignore_errors=True)  # what a killed run of the old way left
        staging.rename(target)
    return modules


def run_pawnote(modules: Path, script: Path = PAWNOTE_SCRIPT, **args: Any) -> dict[str, Any]:
    result = subprocess.run(
        ["node", str(script), str(modules), json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TZ": "UTC"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def run_acts(modules: Path, **args: Any) -> dict[str, Any]:
    """tests/integration/pawnote/acts.mjs: what a pawnote-based app does, as one JSON line."""
    return run_pawnote(modules, ACTS_SCRIPT, **args)


# -- what the synthetic school says a client reads, with PRONOTE's rules written out again --


def visible(
    data: SchoolData, student: Student, period: Period, day: datetime.date
) -> list[Evaluation]:
    return [
        e
        for e in data.evaluations
        if e.period_id == period.id and student.id in e.marks and (e.published_on or e.date) <= day
    ]


def expected_average(evaluations: list[Evaluation], student_id: str) -> float | None:
    """Numbers count, "zéro" kinds count 0, the other kinds are left out; an optional mark
    counts if it raises the average; a bonus adds its points above 10 without weight."""

    def on_20(e: Evaluation) -> float | None:
        mark = e.marks[student_id]
        if mark in (MarkKind.ABSENT_ZERO, MarkKind.NON_RENDU_ZERO):
            return 0.0
        if isinstance(mark, MarkKind):
            return None
        return mark * 20 / e.out_of

    regular = [
        (v, e.coefficient)
        for e in evaluations
        if (v := on_20(e)) is not None and not e.is_optional and not e.is_bonus
    ]
    total = sum(v * c for v, c in regular)
    weights = sum(c for _, c in regular)
    for v, c in sorted(
        (
            (v, e.coefficient)
            for e in evaluations
            if e.is_optional and not e.is_bonus and (v := on_20(e)) is not None
        ),
        reverse=True,
    ):
        if weights == 0 or v > total / weights:
            total, weights = total + v * c, weights + c
    bonus = sum(
        max(0.0, v - 10) * e.coefficient
        for e in evaluations
        if e.is_bonus and (v := on_20(e)) is not None
    )
    return min(20.0, (total + bonus) / weights) if weights else None


def french(value: float) -> str:
    return f"{value:05.2f}".replace(".", ",")
