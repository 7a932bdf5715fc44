"""`Runtime.observe` never blocks the controller's event loop (DESIGN decision 39): an engine
that answers slowly (a swarm manager busy moving the tasks of a drained node) held every
console call behind it, up to its client's 30 s timeout. The engine's listing is taken in a
thread and shared by every school observed meanwhile.

Each engine below answers only once a coroutine on the event loop has run: with a listing
taken on the loop's own thread it never would (the engine gives up after 10 s)."""

from __future__ import annotations

import asyncio
import json
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from provisioning.docker import LABEL, DockerRuntime
from provisioning.runtime import SchoolSpec
from provisioning.snapshot import SharedSnapshot

WAIT = 10.0  # how long an engine waits for the loop before it gives up


async def set_from_the_loop(event: threading.Event) -> None:
    """Runs only if the loop is free while the listing is taken."""
    await asyncio.sleep(0.05)
    event.set()


def test_a_listing_is_taken_in_a_thread_once_for_every_caller() -> None:
    loop_ran = threading.Event()
    taken: list[int] = []

    def take() -> list[int]:
        if not loop_ran.wait(WAIT):
            raise TimeoutError("the event loop was blocked while the listing was taken")
        taken.append(len(taken) + 1)
        return list(taken)

    snapshot: SharedSnapshot[list[int]] = SharedSnapshot(take, [], max_age_seconds=60)

    async def main() -> list[list[int]]:
        got = asyncio.gather(*(snapshot.get() for _ in range(20)))
        await set_from_the_loop(loop_ran)
        return list(await got)

    assert asyncio.run(main()) == [[1]] * 20  # one listing, for all 20 callers
    assert asyncio.run(snapshot.get()) == [1]  # fresh: not taken again (another loop too)
    snapshot.invalidate()
    assert asyncio.run(snapshot.get()) == [1, 2]


def test_a_listing_begun_before_an_invalidation_answers_only_who_asked_before_it() -> None:
    begun, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def take() -> str:
        calls.append("take")
        if len(calls) == 1:
            begun.set()
            assert release.wait(WAIT)
            return "before the school stopped"
        return "after"

    snapshot: SharedSnapshot[str] = SharedSnapshot(take, "", max_age_seconds=60)

    async def main() -> tuple[str, str]:
        earlier = asyncio.ensure_future(snapshot.get())  # asked before the stop
        await asyncio.to_thread(begun.wait, WAIT)
        snapshot.invalidate()  # e.g. a school stopped while the listing was on its way
        later = asyncio.ensure_future(snapshot.get())  # asked after it
        await asyncio.sleep(0)
        release.set()
        return await earlier, await later

    # The listing begun after its call answers the earlier caller; the later one needs one
    # begun after the stop.
    assert asyncio.run(main()) == ("before the school stopped", "after")
    assert calls == ["take", "take"]


def test_an_engine_error_reaches_every_caller_and_the_next_get_tries_again() -> None:
    answers: list[Exception | str] = [OSError("engine unreachable"), "listed"]

    def take() -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    snapshot: SharedSnapshot[str] = SharedSnapshot(take, "", max_age_seconds=60)

    async def main() -> list[object]:
        return await asyncio.gather(*(snapshot.get() for _ in range(3)), return_exceptions=True)

    results = asyncio.run(main())
    assert [str(r) for r in results] == ["engine unreachable"] * 3
    assert asyncio.run(snapshot.get()) == "listed"


def test_a_cancelled_caller_leaves_the_listing_to_the_others() -> None:
    loop_ran = threading.Event()
    snapshot: SharedSnapshot[str] = SharedSnapshot(
        lambda: "listed" if loop_ran.wait(WAIT) else "blocked", "", max_age_seconds=60
    )

    async def main() -> str:
        impatient = asyncio.ensure_future(snapshot.get())
        patient = asyncio.ensure_future(snapshot.get())
        await asyncio.sleep(0.01)
        impatient.cancel()
        await set_from_the_loop(loop_ran)
        return await patient

    assert asyncio.run(main()) == "listed"


class SlowEngine(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """A Docker engine API on a unix socket whose containers listing answers only once
    `loop_ran` is set (by a coroutine of the caller's event loop)."""

    daemon_threads = True

    def __init__(self, path: Path, running: SchoolSpec) -> None:
        self.loop_ran = threading.Event()
        self.listings = 0
        instance = DockerRuntime.instance(running)
        self.container = {
            "Id": "c0ffee",
            "State": "running",
            "Labels": {f"{LABEL}.school": running.uai, f"{LABEL}.instance": instance},
        }
        super().__init__(str(path), EngineHandler)


class EngineHandler(BaseHTTPRequestHandler):
    server: SlowEngine
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path == "/version":
            self.reply({"ApiVersion": "1.41", "Version": "slow"})
        elif path.endswith("/_ping"):
            self.reply("OK")
        elif path.endswith("/containers/json"):
            self.server.listings += 1
            if not self.server.loop_ran.wait(WAIT):
                self.reply({"message": "the event loop was blocked"}, status=500)
                return
            self.reply([self.server.container])
        else:
            self.reply({"message": f"not in this engine: {path}"}, status=404)

    def reply(self, body: object, status: int = 200) -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def slow_engine(tmp_path: Path) -> Iterator[SlowEngine]:
    engine = SlowEngine(tmp_path / "engine.sock", SchoolSpec("0750501W", "", tmp_path / "0750501W"))
    serving = threading.Thread(target=engine.serve_forever, daemon=True)
    serving.start()
    yield engine
    engine.shutdown()
    engine.server_close()


def test_docker_observe_leaves_the_event_loop_free_while_the_engine_lists(
    slow_engine: SlowEngine, tmp_path: Path
) -> None:
    runtime = DockerRuntime(f"docker://{tmp_path / 'engine.sock'}")
    specs = [SchoolSpec(uai, "", tmp_path / uai) for uai in ("0750501W", "0750502X")]

    async def main() -> list[bool]:
        observing = asyncio.gather(*(runtime.observe(spec) for spec in specs * 5))
        await set_from_the_loop(slow_engine.loop_ran)
        observed = await observing
        await runtime.close()
        return [o.running for o in observed]

    assert asyncio.run(main()) == [True, False] * 5
    assert slow_engine.listings == 1  # ten schools observed, one listing
