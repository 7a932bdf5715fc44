"""One Runtime interface (the contract every runtime implements) and its failures; the
implementation is chosen from a URL in provisioning/factory.py."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


class RuntimeFailure(Exception):
    """Root of runtime failures; the message says what to do next."""


class StartFailed(RuntimeFailure):
    def __init__(self, message: str, log_tail: list[str]) -> None:
        detail = "\n".join(log_tail[-10:])
        super().__init__(f"{message}\nlast log lines:\n{detail}" if detail else message)
        self.log_tail = log_tail


class UnsupportedRuntime(RuntimeFailure):
    pass


@dataclass(frozen=True)
class SchoolSpec:
    """Where one school's server keeps its files; the runtime starts `agent.json` from here."""

    uai: str
    address: str
    school_dir: Path

    @property
    def config_path(self) -> Path:
        return self.school_dir / "agent.json"

    @property
    def data_dir(self) -> Path:
        return self.school_dir / "data"

    @property
    def pid_file(self) -> Path:
        return self.school_dir / "agent.pid"

    @property
    def log_file(self) -> Path:
        return self.school_dir / "agent.log"


@dataclass(frozen=True)
class Observed:
    running: bool
    pid: int | None = None
    address: str | None = None
    """Where the school answers when the runtime chose it (swarm://: its task's overlay
    address, which changes when Swarm moves it); None: the address the controller leased."""
    node: str | None = None
    """The host it runs on, for runtimes spread over several (swarm://)."""


class Runtime(Protocol):
    url: str
    start_waits_for_ready: bool
    """True if `start` returns only once the school serves (its own readiness signal);
    otherwise the caller waits for the school's gRPC health check."""
    moves_schools: bool
    """True if a school may come back on another host without its data (swarm://): the
    controller then copies its backups off as they are made and resumes it from the latest."""
    restart_sheds_memory: bool
    """True if a school started again gets a fresh server that shares the pages its
    predecessor had dirtied (local://, forks of the warm parent): the fleet then restarts a
    demo school once it is populated (DESIGN decision 32)."""

    async def prepare(self, pool: str) -> frozenset[str]:
        """Get ready to start schools of address `pool` quickly (e.g. warm the parent process).
        Returns the pool's addresses no school may lease (e.g. bridge gateways); raises
        RuntimeFailure if the runtime cannot serve that pool."""
        ...

    async def start(self, spec: SchoolSpec, timeout_seconds: float) -> int:
        """Start the school's server; return its pid once it is ready. Raises StartFailed."""
        ...

    async def stop(self, spec: SchoolSpec) -> None:
        """Stop the school's server if it runs; never fails for one that is already gone."""
        ...

    async def remove(self, spec: SchoolSpec) -> None:
        """Stop the school's server and delete what the runtime keeps for it (its backups
        excepted); the school is being deprovisioned."""
        ...

    def observe(self, spec: SchoolSpec) -> Observed: ...

    def log_tail(self, spec: SchoolSpec, lines: int = 20) -> list[str]: ...

    async def close(self) -> None:
        """Release the runtime's own resources; the school servers keep running."""
        ...
