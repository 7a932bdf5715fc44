"""Run a function in a short-lived helper process and get its result back.

A school server is a fork of the warm parent and shares its pages: generating a synthetic
school (to count its base's counters) writes to many of them and leaves fresh memory the
allocator keeps afterwards. Done in a helper process, all of that goes away with it; only
the small pickled result comes back. The helper is a fresh interpreter (`python -m
vm_agent.isolated`) started with posix_spawn: a process running gRPC must not fork without
exec, and subprocess.Popen's own bookkeeping costs a school more memory than the spawn.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
TIMEOUT_SECONDS = 60.0


def run_isolated(function: Callable[..., T], *args: Any) -> T:
    """`function(*args)` (a module-level function) computed in a helper process; its
    exception is raised here. The helper's errors go to this process's stderr (its log)."""
    request_read, request_write = os.pipe()
    answer_read, answer_write = os.pipe()
    try:
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
    try:
        with os.fdopen(request_write, "wb") as request:
            request.write(pickle.dumps((function, args)))
        payload = _read_all(answer_read, time.monotonic() + TIMEOUT_SECONDS, function.__name__)
    except BaseException:
        os.kill(pid, signal.SIGKILL)
        raise
    finally:
        os.close(answer_read)
        _, status = os.waitpid(pid, 0)
    if not payload:
        raise RuntimeError(
            f"the helper computing {function.__name__} failed (exit code "
            f"{os.waitstatus_to_exitcode(status)}); see this school's log"
        )
    ok, value = pickle.loads(payload)
    if not ok:
        raise value
    return value  # type: ignore[no-any-return]


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


def main() -> int:
    function, args = pickle.load(sys.stdin.buffer)
    try:
        answer = (True, function(*args))
    except Exception as error:  # a refusal travels back to the caller
        answer = (False, error)
    pickle.dump(answer, sys.stdout.buffer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
