"""Fault points: named places where the fault-injection tier kills the process (issue 12).

Production code calls `fault_point("provision.row_committed")` between the steps of a
multi-step operation. Without `PRONOTE_DC_FAULT_POINTS` in the environment (read once, at
import) a call is one dictionary lookup and does nothing. With it, the process SIGKILLs itself
at the chosen point, exactly as `kill -9` would: no `finally`, no `except`, no flush.

`PRONOTE_DC_FAULT_POINTS` is a comma-separated list of
- `NAME` (kill at the first pass through NAME) or `NAME@N` (at the N-th pass, N >= 1);
- `random:P:SEED` (kill at any point with probability P, reproducibly from SEED).
`PRONOTE_DC_FAULT_LOG=FILE` appends every point passed (one name a line) so a test can list them.
"""

from __future__ import annotations

import os
import random
import signal

ENVIRONMENT = "PRONOTE_DC_FAULT_POINTS"
LOG_ENVIRONMENT = "PRONOTE_DC_FAULT_LOG"


class _Faults:
    def __init__(self, spec: str, log_path: str) -> None:
        self.at: dict[str, int] = {}
        self.passes: dict[str, int] = {}
        self.random: random.Random | None = None
        self.probability = 0.0
        self.log_path = log_path
        for item in filter(None, (part.strip() for part in spec.split(","))):
            if item.startswith("random:"):
                _, probability, seed = item.split(":")
                self.probability, self.random = float(probability), random.Random(int(seed))
            else:
                name, _, count = item.partition("@")
                self.at[name] = int(count or 1)

    def passed(self, name: str) -> None:
        if self.log_path:
            with open(self.log_path, "a", encoding="utf-8") as log:
                log.write(name + "\n")
        self.passes[name] = self.passes.get(name, 0) + 1
        if self.at.get(name) == self.passes[name] or (
            self.random is not None and self.random.random() < self.probability
        ):
            os.kill(os.getpid(), signal.SIGKILL)


_spec, _log = os.environ.get(ENVIRONMENT, ""), os.environ.get(LOG_ENVIRONMENT, "")
_FAULTS = _Faults(_spec, _log) if (_spec or _log) else None


def fault_point(name: str) -> None:
    """Die here (SIGKILL) if the fault-injection tier asked for it; otherwise nothing."""
    if _FAULTS is not None:
        _FAULTS.passed(name)
