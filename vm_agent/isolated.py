"""Run a function in a short-lived helper process and get its result back.

A school server is a fork of the warm parent and shares its pages: generating a synthetic
school (to count its base's counters) writes to many of them and leaves fresh memory the
allocator keeps afterwards. Done in a helper process, all of that goes away with it; only
the small pickled result comes back. The helper is a fresh interpreter (`python -m
vm_agent.isolated`), not a fork: a process running gRPC must not fork without exec.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
TIMEOUT_SECONDS = 60.0


def run_isolated(function: Callable[..., T], *args: Any) -> T:
    """`function(*args)` (a module-level function) computed in a helper process; its
    exception is raised here."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "vm_agent.isolated"],
            input=pickle.dumps((function, args)),
            capture_output=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(
            f"computing {function.__name__} took more than {TIMEOUT_SECONDS:.0f} s"
        ) from None
    if done.returncode != 0 or not done.stdout:
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-3:]
        raise RuntimeError(
            f"the helper computing {function.__name__} failed (exit code {done.returncode}): "
            + " / ".join(tail)
        )
    ok, value = pickle.loads(done.stdout)
    if not ok:
        raise value
    return value  # type: ignore[no-any-return]


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
