"""DESIGN decision 40: `LocalRuntime.mark_pages` sends SIGUSR1 to a school it adopted. A school
that does not handle or ignore that signal (one started by a warm parent from before decision
40, i.e. by the previous release, still running when the controller is upgraded and restarted:
`up` adopts the schools it finds) is ended by it, as is a school whose loop has closed
(asyncio's close resets SIGUSR1 to SIG_DFL). Asking must never end a school."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

from provisioning.local import LocalRuntime
from provisioning.runtime import SchoolSpec

# A school of the previous release: it writes its pid file and serves, SIGUSR1 at its default.
OLD_SCHOOL = """
import sys, time
from pathlib import Path
from common.processes import PidFile
PidFile.write_for_self(Path(sys.argv[1]), sys.argv[2])
time.sleep(30)
"""


def test_a_school_that_does_not_listen_is_not_ended_by_the_ask(tmp_path: Path) -> None:
    spec = SchoolSpec("0750999X", "127.93.250.1", tmp_path / "0750999X")
    spec.school_dir.mkdir()
    school = subprocess.Popen([sys.executable, "-c", OLD_SCHOOL, str(spec.pid_file), spec.uai])
    try:
        deadline = time.monotonic() + 10
        while not spec.pid_file.exists():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        runtime = LocalRuntime()

        async def adopt_and_ask() -> None:
            runtime.watch(spec, lambda uai: None)  # what reconcile does for an adopted school
            runtime.mark_pages(spec)
            await asyncio.sleep(0.5)
            runtime._unwatch(spec.uai)

        asyncio.run(adopt_and_ask())
        assert school.poll() is None, f"the school was ended by the ask (exit {school.returncode})"
    finally:
        school.kill()
        school.wait()
