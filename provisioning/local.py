"""The embedded runtime: one process per school on its own loopback address.

Schools are forked by a warm parent (`python -m vm_agent.zygote`, DESIGN decision 4) and
detached, so they outlive the controller; a pid file with the process start time finds them
again after a controller restart. A school's exit is an event: `watch` holds a pidfd of its
process on the controller's event loop (DESIGN decision 31), so nothing polls the pid files.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import logging
import os
import signal
import sys
import time
from collections import deque

from common.processes import MARK_PAGES_SIGNAL, PidFile, catches
from common.school_grpc import school_environment
from provisioning.runtime import Observed, OnStop, SchoolSpec, StartFailed, StartTimedOut

STOP_GRACE_SECONDS = 5.0

log = logging.getLogger(__name__)


class LocalRuntime:
    start_waits_for_ready = True  # the school reports SERVING on its readiness pipe
    moves_schools = False
    populates_before_start = True  # in a helper of the warm parent (DESIGN decision 38)
    merges_pages = True  # forks on this kernel: ~1.8k own pages each, mostly alike

    def __init__(self, url: str = "local://") -> None:
        self.url = url
        self._zygote: asyncio.subprocess.Process | None = None
        self._zygote_lock = asyncio.Lock()
        self._answers: dict[int, asyncio.Future[dict[str, object]]] = {}
        self._ids = itertools.count(1)
        self._reader: asyncio.Task[None] | None = None
        # uai -> (pidfd registered with the loop, or None if already gone; its call)
        self._watches: dict[str, tuple[int | None, asyncio.Handle | None]] = {}

    async def prepare(self, pool: str) -> frozenset[str]:
        await self._ensure_zygote()
        return frozenset()

    async def _ensure_zygote(self) -> asyncio.subprocess.Process:
        async with self._zygote_lock:
            if self._zygote is None or self._zygote.returncode is not None:
                self._zygote = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "vm_agent.zygote",
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    start_new_session=True,
                    env=school_environment(os.environ),  # its schools' gRPC (decision 43)
                )
                ready = asyncio.get_running_loop().create_future()
                self._answers[0] = ready
                self._reader = asyncio.create_task(self._read_answers(self._zygote))
                await ready  # its imports are done: forks are cheap from now on
            return self._zygote

    async def _read_answers(self, zygote: asyncio.subprocess.Process) -> None:
        assert zygote.stdout is not None
        while line := await zygote.stdout.readline():
            answer = json.loads(line)
            future = self._answers.pop(int(answer["id"]), None)
            if future is not None and not future.done():
                future.set_result(answer)
        for future in self._answers.values():
            if not future.done():
                future.set_result({"ok": False, "error": "the warm parent process exited"})
        self._answers.clear()

    async def start(self, spec: SchoolSpec, timeout_seconds: float) -> int:
        spec.school_dir.mkdir(parents=True, exist_ok=True)
        spec.pid_file.unlink(missing_ok=True)
        request = {
            "config": str(spec.config_path),
            "pid_file": str(spec.pid_file),
            "log": str(spec.log_file),
        }
        answer = await self._ask(request, timeout_seconds)
        if answer is None:
            await self.stop(spec)
            raise StartTimedOut(
                f"school {spec.uai} did not become ready within {timeout_seconds:.0f} s",
                self.log_tail(spec),
            )
        if not answer["ok"]:
            raise StartFailed(f"school {spec.uai} failed to start: {answer['error']}", [])
        pid_file = PidFile.read(spec.pid_file)
        if pid_file is None:
            raise StartFailed(f"school {spec.uai} wrote no pid file", self.log_tail(spec))
        return pid_file.pid

    async def populate_before_start(
        self, spec: SchoolSpec, request: bytes, timeout_seconds: float
    ) -> bytes:
        """The warm parent's population worker (`vm_agent.population_worker`, DESIGN decision
        41) populates the school's saved state (`vm_agent.demo_population`) and answers with
        the agent's reply; the populations of a wave wait their turn in the warm parent."""
        spec.school_dir.mkdir(parents=True, exist_ok=True)
        answer = await self._ask(
            {"populate": str(spec.config_path), "request": base64.b64encode(request).decode()},
            timeout_seconds,
        )
        if answer is None:
            raise StartTimedOut(
                f"school {spec.uai}: its demo population took more than {timeout_seconds:g} s",
                [],
            )
        if not answer["ok"]:
            raise StartFailed(f"school {spec.uai}: {answer['error']}", [])
        return base64.b64decode(str(answer["reply"]))

    async def _ask(
        self, request: dict[str, str], timeout_seconds: float
    ) -> dict[str, object] | None:
        """Send `request` to the warm parent; its answer, or None after `timeout_seconds`."""
        zygote = await self._ensure_zygote()
        request_id = next(self._ids)
        answer_future = asyncio.get_running_loop().create_future()
        self._answers[request_id] = answer_future
        assert zygote.stdin is not None
        zygote.stdin.write((json.dumps({"id": request_id, **request}) + "\n").encode())
        await zygote.stdin.drain()
        try:
            return await asyncio.wait_for(answer_future, timeout_seconds)
        except (TimeoutError, asyncio.CancelledError) as stopped:
            self._answers.pop(request_id, None)
            # The warm parent may not have forked a school yet (it is as loaded as we are): it
            # must not start a server, or go on with a population, that nobody waits for.
            if zygote.returncode is None and not zygote.stdin.is_closing():
                zygote.stdin.write((json.dumps({"id": request_id, "cancel": True}) + "\n").encode())
            if isinstance(stopped, asyncio.CancelledError):
                raise
            await zygote.stdin.drain()
            return None

    async def observe(self, spec: SchoolSpec) -> Observed:
        pid_file = PidFile.read(spec.pid_file)
        if pid_file is None or pid_file.name != spec.uai or not pid_file.is_alive():
            return Observed(running=False)
        return Observed(running=True, pid=pid_file.pid)

    def watch(self, spec: SchoolSpec, on_stop: OnStop) -> bool:
        """A pidfd of the school's process, readable once it exits (Linux >= 5.3). Opened
        first, then checked against the pid file's start time: a pid the kernel gave to
        another process since is never watched in its place. False (the fleet observes it
        instead) when no pidfd can be opened: out of descriptors, or a sandbox forbids it."""
        self._unwatch(spec.uai)
        loop = asyncio.get_running_loop()
        pid_file = PidFile.read(spec.pid_file)
        pidfd = None
        if pid_file is not None and pid_file.name == spec.uai:
            try:
                pidfd = os.pidfd_open(pid_file.pid)
            except ProcessLookupError:
                pidfd = None
            except OSError as error:  # out of descriptors, or pidfd_open not allowed here
                log.warning("cannot watch school %s (%s): it is observed instead", spec.uai, error)
                return False
            if pidfd is not None and not pid_file.is_alive():  # that pid is someone else's
                os.close(pidfd)
                pidfd = None
        if pidfd is None:  # nothing of it runs: say so, as an exit would
            self._watches[spec.uai] = (None, loop.call_soon(self._stopped, spec.uai, on_stop))
            return True
        loop.add_reader(pidfd, self._stopped, spec.uai, on_stop)
        self._watches[spec.uai] = (pidfd, None)
        return True

    def _stopped(self, uai: str, on_stop: OnStop) -> None:
        self._unwatch(uai)
        on_stop(uai)

    def _unwatch(self, uai: str) -> None:
        pidfd, handle = self._watches.pop(uai, (None, None))
        if handle is not None:
            handle.cancel()
        if pidfd is not None:
            asyncio.get_running_loop().remove_reader(pidfd)
            os.close(pidfd)

    def mark_pages(self, spec: SchoolSpec) -> bool:
        """MARK_PAGES_SIGNAL through the school's watched pidfd (no pid the kernel gave to
        another process since), else to the pid its pid file names if that is still it; only
        to a school that handles it (one of an earlier release, or whose loop has closed,
        would be ended by it)."""
        pid_file = PidFile.read(spec.pid_file)
        if pid_file is None or pid_file.name != spec.uai or not pid_file.is_alive():
            return False
        if not catches(pid_file.pid, MARK_PAGES_SIGNAL):
            return False
        pidfd, _ = self._watches.get(spec.uai, (None, None))
        try:
            if pidfd is not None:
                signal.pidfd_send_signal(pidfd, MARK_PAGES_SIGNAL)
            else:
                os.kill(pid_file.pid, MARK_PAGES_SIGNAL)
            return True
        except ProcessLookupError:  # it exited meanwhile: its watch reports it
            return False

    async def stop(self, spec: SchoolSpec) -> None:
        self._unwatch(spec.uai)
        pid_file = PidFile.read(spec.pid_file)
        if pid_file is None or not pid_file.is_alive():
            spec.pid_file.unlink(missing_ok=True)
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid_file.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while pid_file.is_alive() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        if pid_file.is_alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid_file.pid, signal.SIGKILL)
            while pid_file.is_alive() and time.monotonic() < deadline + 1:
                await asyncio.sleep(0.02)  # its ports are free once it is gone (a restart binds)
        spec.pid_file.unlink(missing_ok=True)

    async def remove(self, spec: SchoolSpec) -> None:
        await self.stop(spec)  # the school's files go with its directory, removed by the fleet

    def log_tail(self, spec: SchoolSpec, lines: int = 20) -> list[str]:
        try:
            with spec.log_file.open(encoding="utf-8", errors="replace") as log:
                return [line.rstrip("\n") for line in deque(log, maxlen=lines)]
        except FileNotFoundError:
            return []

    async def close(self) -> None:
        for uai in list(self._watches):
            self._unwatch(uai)
        zygote, self._zygote = self._zygote, None
        if zygote is None or zygote.returncode is not None:
            return
        assert zygote.stdin is not None
        zygote.stdin.close()
        try:
            await asyncio.wait_for(zygote.wait(), 5)
        except TimeoutError:
            zygote.kill()
            await zygote.wait()
        if self._reader is not None:
            await self._reader
