"""Run a function in a short-lived helper process and get its result back.

A school server is a fork of the warm parent and shares its pages: generating a synthetic
school (to count its base's counters or find its first people) writes to many of them and
leaves fresh memory the allocator keeps afterwards. Done in a helper process, all of that goes
away with it; only the small pickled result comes back.

A process running gRPC must not fork without exec, so the school never forks its helper
itself. Two ways, the cheaper first (DESIGN decision 30):
- the warm parent (`vm_agent.zygote`, local runtime): the school hands it the helper's two
  pipe ends over the Unix socket it was forked with (`use_warm_parent`); the warm parent, which
  has no gRPC object, forks the helper (~3 ms of CPU, its pages shared);
- a fresh interpreter (`python -m vm_agent.isolated`) started with posix_spawn (~150 ms of
  CPU): in a container, in a school adopted after a controller restart (its warm parent is
  gone), or if the warm parent cannot be reached. subprocess.Popen's own bookkeeping would cost
  a school more memory than the spawn.
"""

from __future__ import annotations

import ctypes
import logging
import os
import pickle
import resource
import select
import signal
import socket
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
TIMEOUT_SECONDS = 60.0
# What a school sends its warm parent, with the two pipe ends, to ask for a helper.
HELPER_REQUEST = b"helper"

log = logging.getLogger("vm_agent.isolated")
_warm_parent: socket.socket | None = None
_LIBC = ctypes.CDLL(None)
# Helpers started since this process started, by who made them (the school's /metrics).
HELPER_KINDS = ("warm_parent", "fresh_interpreter")
helpers_started = dict.fromkeys(HELPER_KINDS, 0)
helpers_cpu_seconds = dict.fromkeys(HELPER_KINDS, 0.0)  # as each helper measured itself


def release_free_memory() -> None:
    """Give the C heap's free pages back to the kernel (glibc's malloc_trim; nothing where
    there is none): what a school allocated for a moment, e.g. to populate a demo base, then
    stops counting in its memory (measured: -0.3 MiB PSS after a demo population, ~1 ms)."""
    trim = getattr(_LIBC, "malloc_trim", None)
    if trim is not None:
        trim(0)


def use_warm_parent(fd: int) -> None:
    """Ask the warm parent for helpers over this connected Unix socket (`vm_agent.zygote`)."""
    global _warm_parent
    _warm_parent = socket.socket(fileno=fd)


def run_isolated(function: Callable[..., T], *args: Any) -> T:
    """`function(*args)` (a module-level function) computed in a helper process; its
    exception is raised here. The helper's errors go to its parent's stderr: the warm parent's
    (the controller's log) or, from a fresh interpreter, this process's (the school's log)."""
    payload, warm = _compute(function, args, warm=_warm_parent is not None)
    if not payload and warm:  # the warm parent went away with the request: once more, fresh
        payload, warm = _compute(function, args, warm=False)
    if not payload:
        raise RuntimeError(
            f"the helper computing {function.__name__} failed; see this school's log"
        )
    ok, value, cpu_seconds = pickle.loads(payload)
    helpers_cpu_seconds["warm_parent" if warm else "fresh_interpreter"] += cpu_seconds
    if not ok:
        raise value
    return value  # type: ignore[no-any-return]


def _compute(function: Callable[..., Any], args: tuple[Any, ...], warm: bool) -> tuple[bytes, bool]:
    """The helper's pickled answer (empty if it died first), and whether the warm parent
    made the helper."""
    request_read, request_write = os.pipe()
    answer_read, answer_write = os.pipe()
    pid = None
    try:
        warm = warm and _ask_warm_parent(request_read, answer_write)
        if not warm:
            pid = os.posix_spawn(
                sys.executable,
                [sys.executable, "-m", "vm_agent.isolated"],
                os.environ,
                file_actions=[
                    (os.POSIX_SPAWN_DUP2, request_read, 0),
                    (os.POSIX_SPAWN_DUP2, answer_write, 1),
                ],
            )
    finally:
        os.close(request_read)
        os.close(answer_write)
    helpers_started["warm_parent" if warm else "fresh_interpreter"] += 1
    try:
        try:
            with os.fdopen(request_write, "wb") as request:
                request.write(pickle.dumps((function, args)))
        except BrokenPipeError:  # the helper died before reading: its answer is empty
            pass
        payload = _read_all(answer_read, time.monotonic() + TIMEOUT_SECONDS, function.__name__)
    except BaseException:
        if pid is not None:  # a warm parent's helper ends itself (alarm) or on the closed pipe
            os.kill(pid, signal.SIGKILL)
        raise
    finally:
        os.close(answer_read)
        if pid is not None:
            os.waitpid(pid, 0)
    return payload, warm


def _ask_warm_parent(request_read: int, answer_write: int) -> bool:
    """True if the warm parent took the request; False (and never again) if it is gone."""
    global _warm_parent
    if _warm_parent is None:
        return False
    try:
        socket.send_fds(_warm_parent, [HELPER_REQUEST], [request_read, answer_write])
    except OSError as error:
        log.info("the warm parent is gone (%s): helpers are fresh interpreters from now", error)
        _warm_parent.close()
        _warm_parent = None
        return False
    return True


def _read_all(fd: int, deadline: float, name: str) -> bytes:
    chunks: list[bytes] = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            raise RuntimeError(f"computing {name} took more than {TIMEOUT_SECONDS:.0f} s")
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def answer(request_fd: int, answer_fd: int) -> None:
    """The helper's work: read (function, args) from `request_fd`, write (ok, result or
    exception, the helper's CPU seconds so far) to `answer_fd`, pickled; both are closed
    after. A fork's CPU count starts at its fork; a fresh interpreter's counts its start."""
    with os.fdopen(request_fd, "rb") as request:
        function, args = pickle.load(request)
    try:
        result = (True, function(*args))
    except Exception as error:  # a refusal travels back to the caller
        result = (False, error)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with os.fdopen(answer_fd, "wb") as out:
        pickle.dump((*result, usage.ru_utime + usage.ru_stime), out)


def main() -> int:
    answer(sys.stdin.fileno(), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
