"""Naming a process so that a recycled pid is never mistaken for it."""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from pathlib import Path

from common.files import read_json, write_json_atomically

MARK_PAGES_SIGNAL = signal.SIGUSR1
"""What the controller sends a school on local:// to have it mark its own pages for the
kernel's same-page merging now: at the start of a merging pass, once a provisioning wave is
over (DESIGN decision 40). The warm parent ignores it, so a school that does not listen (its
merging off, or not started yet) is never ended by it."""


def start_ticks(pid: int) -> int | None:
    """When the process started, in clock ticks since boot; None if there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    if fields[0] == "Z":  # a zombie has exited already
        return None
    return int(fields[19])


def catches(pid: int, signum: int) -> bool:
    """Whether the process has a handler for `signum` (/proc/PID/status SigCgt)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("SigCgt:"):
                    return bool(int(line.split()[1], 16) >> (signum - 1) & 1)
    except (FileNotFoundError, ProcessLookupError):
        pass
    return False


@dataclass(frozen=True)
class PidFile:
    """A process's pid and start time, so that a recycled pid is never taken for it."""

    pid: int
    start_ticks: int
    name: str

    def is_alive(self) -> bool:
        return start_ticks(self.pid) == self.start_ticks

    @staticmethod
    def write_for_self(path: Path, name: str) -> None:
        """This process's pid file at `path`; FileNotFoundError if its directory is gone."""
        pid = os.getpid()
        ticks = start_ticks(pid)
        assert ticks is not None
        # compact: the C encoder (indent makes json run its Python one, ~0.2 MiB in a school)
        # Into its directory as it is: FileNotFoundError if it was removed meanwhile (a school
        # whose provisioning was undone while it started must not make it again).
        record = {"pid": pid, "start_ticks": ticks, "name": name}
        write_json_atomically(path, record, indent=None, make_parents=False)

    @staticmethod
    def read(path: Path) -> PidFile | None:
        try:
            data = read_json(path)
            return PidFile(int(data["pid"]), int(data["start_ticks"]), str(data["name"]))
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return None
