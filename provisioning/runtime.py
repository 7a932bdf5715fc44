"""One Runtime interface (the contract every runtime implements) and its failures; the
implementation is chosen from a URL in provisioning/factory.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

OnStop = Callable[[str], None]
"""Called with a school's UAI when its server stopped (see `Runtime.watch`)."""


class RuntimeFailure(Exception):
    """Root of runtime failures; the message says what to do next."""


class StartFailed(RuntimeFailure):
    def __init__(self, message: str, log_tail: list[str]) -> None:
        detail = "\n".join(log_tail[-10:])
        super().__init__(f"{message}\nlast log lines:\n{detail}" if detail else message)
        self.log_tail = log_tail


class StartTimedOut(StartFailed):
    """The server gave no sign of life in time (a loaded machine, most often); whatever of it
    had started was stopped, so starting it again may succeed."""


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
    populates_before_start: bool
    """True if a demo school's population can be computed and saved before its server starts
    (`populate_before_start`, local://: in a helper of the warm parent, so that the school
    does not run the call's code itself, DESIGN decision 38); otherwise the fleet sends it to
    the started school."""
    merges_pages: bool
    """True if its schools run on this machine's kernel as forks of the warm parent, whose
    own pages are few and alike (local://): they mark them for the kernel's same-page merging
    and the controller runs ksmd passes (DESIGN decision 35)."""

    def mark_pages(self, spec: SchoolSpec) -> bool:
        """Where `merges_pages`: ask the school's running server to mark its own pages for
        merging now (decision 40: at the start of a pass, after a provisioning wave). True if
        asked; False if it does not run, or the runtime has no pages to merge. Never blocks."""
        ...

    async def prepare(self, pool: str) -> frozenset[str]:
        """Get ready to start schools of address `pool` quickly (e.g. warm the parent process).
        Returns the pool's addresses no school may lease (e.g. bridge gateways); raises
        RuntimeFailure if the runtime cannot serve that pool."""
        ...

    async def start(self, spec: SchoolSpec, timeout_seconds: float) -> int:
        """Start the school's server; return its pid once it is ready. Raises StartFailed."""
        ...

    async def populate_before_start(
        self, spec: SchoolSpec, request: bytes, timeout_seconds: float
    ) -> bytes:
        """Where `populates_before_start`: the agent's PopulateDemo call (`request`, a
        serialized `agent_pb2.PopulateDemoRequest`) computed on the school's saved state and
        saved, before its server starts (its `agent.json` is written); returns the serialized
        `PopulateDemoReply`. Raises StartFailed (refused, or failed: its message says why) and
        StartTimedOut after `timeout_seconds`; elsewhere RuntimeFailure."""
        ...

    async def stop(self, spec: SchoolSpec) -> None:
        """Stop the school's server if it runs; never fails for one that is already gone."""
        ...

    async def remove(self, spec: SchoolSpec) -> None:
        """Stop the school's server and delete what the runtime keeps for it (its backups
        excepted); the school is being deprovisioned."""
        ...

    async def observe(self, spec: SchoolSpec) -> Observed:
        """Whether the school's server runs now (and where, on runtimes that place it). Never
        blocks the event loop: an engine's listing (docker://, swarm://) is taken in a thread
        and shared by every school observed within its 0.5 s (DESIGN decision 39). Raises
        what the engine's client raises when it cannot list (e.g. docker.errors.APIError)."""
        ...

    def watch(self, spec: SchoolSpec, on_stop: OnStop) -> bool:
        """Call `on_stop(spec.uai)` once, on the running event loop, when the server of this
        school that runs now stops by itself (it exits, is killed, its container dies); soon if
        none runs now. A later `watch` of the school replaces this one; `stop`, `remove` and
        `close` end it without a call. Returns False, and never calls, when the runtime has no
        such event (swarm://): the caller then observes the school on its own interval (DESIGN
        decision 31). Never blocks: no engine call, no file written."""
        ...

    def log_tail(self, spec: SchoolSpec, lines: int = 20) -> list[str]: ...

    async def close(self) -> None:
        """Release the runtime's own resources; the school servers keep running."""
        ...
