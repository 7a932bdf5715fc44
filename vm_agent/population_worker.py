"""Demo populations run one after another in one long-lived worker the warm parent forks on
demand (DESIGN decision 41).

A helper forked per population (decision 38) cost the warm parent ~16 ms of CPU for ~5.8 ms
of population: the fork copies the page tables of a ~95 MiB process (~2.2 ms in the parent),
the helper then copies on write every page it touches and unmaps them all when it exits (~7
ms of system time). One worker forked once for a wave pays that once: a population then costs
what it computes. The worker is a child of the warm parent, so its CPU time still adds up in
the warm parent's children's time once it exits (the benchmarks read it there).

`Populations` is the warm parent's side: a queue of requests, given to the worker one at a
time, so that cancelling a request that waits costs nothing and cancelling the one it works on
kills the worker alone (its state write is atomic: the school's directory holds its state as
before or as after). A worker that dies (a crash, its per-population alarm) answers its
request with an error; the next request forks a new one. A worker left idle for
`IDLE_SECONDS` is told to end (its request pipe closed), so that none holds memory once a wave
is over. `serve` is the worker's side.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from vm_agent import demo_population, isolated

IDLE_SECONDS = 1.0  # a worker with nothing to do for this long ends
# A population still running after this long ends its worker (SIGALRM's default action), as a
# helper ended itself (the controller has stopped waiting well before).
ALARM_SECONDS = int(isolated.TIMEOUT_SECONDS) + 5
DIED = "its demo population's worker process died"

# (pid, write end of its requests, read end of its answers) of a forked worker
ForkWorker = Callable[[], tuple[int, int, int]]


def serve(requests_fd: int, answers_fd: int) -> None:
    """In the worker: run each request line read from `requests_fd` ({"populate": path,
    "request": base64}, as the warm parent's protocol gives them) with
    `demo_population.answer`, whose JSON line goes to `answers_fd`; returns at end of file.
    Each population has `ALARM_SECONDS`, after which the process ends."""
    with os.fdopen(requests_fd, "rb") as lines:
        for line in lines:
            request = json.loads(line)
            signal.alarm(ALARM_SECONDS)
            demo_population.answer(request["populate"], request["request"], answers_fd)
            signal.alarm(0)


@dataclass
class _Worker:
    pid: int
    requests_fd: int
    answers_fd: int
    working_on: object = None  # the id of the request it was given, None when idle
    idle_since: float = field(default_factory=time.monotonic)
    answer: bytes = b""  # the part of its answer read so far


class Populations:
    """The warm parent's demo populations: `submit`, `cancel`, and `read` when the worker's
    answers are readable (registered on `selector` with this object as its data); `tick`
    after every select, whose timeout `timeout` gives."""

    def __init__(self, selector: selectors.BaseSelector, fork_worker: ForkWorker) -> None:
        self._selector = selector
        self._fork_worker = fork_worker
        self._waiting: deque[tuple[object, dict[str, str]]] = deque()
        self._worker: _Worker | None = None

    def submit(self, request_id: object, request: dict[str, str]) -> None:
        """Queue a {"populate": path, "request": base64} request; its answer comes from `read`."""
        self._waiting.append((request_id, request))
        self._give_next()

    def cancel(self, request_id: object) -> bool:
        """Forget a request not answered yet (the one being worked on: its worker is killed);
        False if it is not one of ours."""
        for waiting in self._waiting:
            if waiting[0] == request_id:
                self._waiting.remove(waiting)
                return True
        worker = self._worker
        if worker is None or worker.working_on is None or worker.working_on != request_id:
            return False
        with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
            os.kill(worker.pid, signal.SIGKILL)
        self._forget_worker()
        self._give_next()
        return True

    def read(self) -> list[dict[str, object]]:
        """Read what the worker wrote; the answers completed (each with its request's "id")."""
        worker = self._worker
        if worker is None:
            return []
        chunk = os.read(worker.answers_fd, 65536)
        worker.answer += chunk
        answers: list[dict[str, object]] = []
        if not chunk:  # it died (or ended while idle): its request, if any, fails
            if worker.working_on is not None:
                answers.append({"id": worker.working_on, "ok": False, "error": DIED})
            self._forget_worker()
        elif b"\n" in worker.answer:
            line, _, worker.answer = worker.answer.partition(b"\n")
            answers.append(_answer(worker.working_on, line))
            worker.working_on, worker.idle_since = None, time.monotonic()
        self._give_next()
        return answers

    def timeout(self) -> float | None:
        """Seconds until an idle worker is due to end (None: no such worker)."""
        worker = self._worker
        if worker is None or worker.working_on is not None:
            return None
        return max(0.0, worker.idle_since + IDLE_SECONDS - time.monotonic())

    def tick(self) -> None:
        """End the worker if it has been idle `IDLE_SECONDS` (it reads end of file and exits)."""
        wait = self.timeout()
        if wait is not None and wait <= 0:
            self._forget_worker()

    def _give_next(self) -> None:
        if not self._waiting:
            return
        if self._worker is None:
            pid, requests_fd, answers_fd = self._fork_worker()
            self._worker = _Worker(pid, requests_fd, answers_fd)
            self._selector.register(answers_fd, selectors.EVENT_READ, self)
        worker = self._worker
        if worker.working_on is not None:
            return
        request_id, request = self._waiting.popleft()
        line = json.dumps({"populate": request["populate"], "request": request["request"]})
        payload = line.encode() + b"\n"
        try:
            while payload:  # ~1 KiB into an empty pipe: never blocks
                payload = payload[os.write(worker.requests_fd, payload) :]
        except BrokenPipeError:  # it died meanwhile: its end of file answers the request
            pass
        worker.working_on = request_id

    def _forget_worker(self) -> None:
        """Close our ends of the worker's pipes (an idle worker reads end of file and ends; a
        killed one is reaped by the warm parent's SIGCHLD handler)."""
        worker, self._worker = self._worker, None
        if worker is not None:
            self._selector.unregister(worker.answers_fd)
            os.close(worker.answers_fd)
            os.close(worker.requests_fd)


def _answer(request_id: object, line: bytes) -> dict[str, object]:
    try:
        return {**json.loads(line), "id": request_id}
    except ValueError:
        return {"id": request_id, "ok": False, "error": DIED}
