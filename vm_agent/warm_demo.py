"""A demo school's population, run a few times in the warm parent before it forks any school
(DESIGN decision 30).

CPython 3.11 specializes a function's bytecode in place once it has run a few times: run
first in each school, a demo population writes into the code objects the school shares with
the warm parent and copies their pages (~0.3 MiB per demo school, measured). Run here first,
on a tiny synthetic school saved in a temporary directory, the code is specialized once and
its pages stay shared. Costs the warm parent ~0.1 s at its start. Both halves of a
population are warmed: the helper's (`populate_demo_here`) and the school's, which takes the
state the helper saved (DESIGN decision 38).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from common.clock import SimulatedClock
from vm_agent.domain.counters import BaseCounters
from vm_agent.domain.licences import LicencePolicy
from vm_agent.domain.modes import ADMINISTRATION_GROUP, UserKind
from vm_agent.domain.school import SchoolIdentity, SchoolServer
from vm_agent.domain.school_data import PersonKind
from vm_agent.domain.security import SecurityPolicy
from vm_agent.store import StateStore

RUNS = 12  # more than CPython's warm-up count before it specializes
TINY = BaseCounters(professeurs=2, matieres=3, classes=1, groupes=1, eleves=8, salles=2)
SOME_TIME = 1_790_000_000.0  # any instant: nothing is kept


def warm() -> None:
    """Populate a tiny demo school `RUNS` times, each saved as a school's state is."""
    kinds = (PersonKind.PROFESSEUR, PersonKind.VIE_SCOLAIRE, PersonKind.RESPONSABLE)
    with tempfile.TemporaryDirectory(prefix="pronote-dc-warm-") as directory:
        for run in range(RUNS):
            (Path(directory) / str(run)).mkdir()  # a school's data directory: it exists
            store = StateStore(Path(directory) / str(run))
            school = SchoolServer(
                identity=SchoolIdentity("0000000A", "warm"),
                licence_policy=LicencePolicy(4, None),
                security_policy=SecurityPolicy(5, 600, 600),
                idle_timeout_seconds=600,
                clock=SimulatedClock(SOME_TIME),
                save=store.save,
                saved_state=store.load(),
            )
            school.populate_demo(
                "2026-2027",
                "0000000A",
                ("spr", "warm-password"),
                [("admin", "warm-password", "ADMIN", UserKind.PERSONNEL, ADMINISTRATION_GROUP)],
                dict.fromkeys(kinds, "warm-password"),
                "warm-password",
                resources=TINY,
            )
