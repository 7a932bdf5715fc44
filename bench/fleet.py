"""What the PRONOTE.net benchmarks share: a fresh data-center of demo schools started and
stopped, each school's page and sample student, the bare `GET /pronote/` baseline, and the
bounded command-line options of a run in phases."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import grpc

from bench.addresses import free_pool
from protos import console_pb2, console_pb2_grpc

PRONOTE_NET_PORT = 8080
PHASE_BOUNDS = "keep it bounded: --schools 1-30, --seconds 0-60, --concurrency 1-200"


def start_controller(
    tmp: Path,
    count: int,
    pool: str,
    ready: Callable[[Sequence[Any]], list[Any] | None],
    seconds: float,
    interval: float,
    not_ready: str,
) -> tuple[subprocess.Popen[bytes], dict[str, str], list[Any]]:
    """`pronote-dc up --demo COUNT` on `pool`, state in `tmp`, console and HTTP on free
    ports; its schools polled every `interval` s until `ready` picks them (not None), at most
    `seconds` (else SystemExit with `not_ready`): (controller, its environment, the picked)."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PRONOTE_DC_")},
        "PRONOTE_DC_STATE_DIR": str(tmp / "state"),
        "PRONOTE_DC_ADDRESS_POOL": pool,
        "PRONOTE_DC_HTTP_ADDRESS": "127.0.0.1:0",  # never the default port of a running demo
    }
    log = open(tmp / "controller.log", "wb")  # noqa: SIM115
    command = [sys.executable, "-m", "datacenter.cli", "up", "--console-address", "127.0.0.1:0"]
    controller = subprocess.Popen([*command, "--demo", str(count)], env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if controller.poll() is not None:
            raise SystemExit(f"controller exited: {(tmp / 'controller.log').read_text()[-2000:]}")
        try:
            address = json.loads((tmp / "state" / "controller.json").read_text())["console_address"]
            token = (tmp / "state" / "operator.token").read_text().strip()
            stub = console_pb2_grpc.ConsoleStub(grpc.insecure_channel(address))
            schools = stub.ListSchools(
                console_pb2.ListSchoolsRequest(),
                metadata=(("authorization", f"Bearer {token}"),),
                timeout=5,
            ).schools
            picked = ready(schools)
            if picked is not None:
                return controller, env, picked
        except (FileNotFoundError, ValueError, KeyError, grpc.RpcError):
            pass
        time.sleep(interval)
    raise SystemExit(not_ready)


def start_fleet(
    tmp: Path, count: int, pool: str = ""
) -> tuple[subprocess.Popen[bytes], dict[str, str], list[Any]]:
    """`pronote-dc up --demo COUNT` on `pool` (default: a free block of 127.130/16), console
    and HTTP on free ports; (controller, its environment, the ready schools)."""
    pool = pool or free_pool(130, count)

    def ready(schools: Sequence[Any]) -> list[Any] | None:
        found = [s for s in schools if any(a.role == "eleve" for a in s.sample_accounts)]
        return found if len(found) >= count else None

    not_ready = f"{count} demo schools with student accounts were not ready within 180 s"
    return start_controller(tmp, count, pool, ready, 180, 0.2, not_ready)


@contextlib.contextmanager
def demo_fleet(count: int, pool: str = "") -> Iterator[tuple[dict[str, str], list[Any]]]:
    """`start_fleet` in a temporary directory; stopped (`stop_fleet`) and removed on exit."""
    with tempfile.TemporaryDirectory(prefix="pronote-dc-bench-") as tmp:
        controller, env = None, dict(os.environ)
        try:
            controller, env, schools = start_fleet(Path(tmp), count, pool)
            yield env, schools
        finally:
            stop_fleet(controller, env)


def phases_run(args: argparse.Namespace, schools: int) -> dict[str, Any]:
    """The first figures of a report: the run's shape."""
    return {
        "schools": schools,
        "concurrency": args.concurrency,
        "seconds_per_phase": args.seconds,
        "rounds": args.rounds,
    }


def stop_fleet(controller: subprocess.Popen[bytes] | None, env: dict[str, str]) -> None:
    """Stop the controller (when it was started) and take its schools down."""
    if controller is None:
        return
    controller.terminate()
    controller.wait(timeout=20)
    subprocess.run(
        [sys.executable, "-m", "datacenter.cli", "down"],
        env=env,
        capture_output=True,
        timeout=120,
    )


def pronote_url(school: Any) -> str:
    """The school's PRONOTE.net root, without the trailing slash."""
    return f"http://{school.address}:{PRONOTE_NET_PORT}/pronote"


def sample_student(school: Any) -> Any:
    """The school's sample student account."""
    return next(a for a in school.sample_accounts if a.role == "eleve")


def bare_get_worker(
    http: aiohttp.ClientSession, urls: Sequence[str], index: int, rotate: bool = True
) -> Callable[[], Awaitable[int]]:
    """The baseline: `GET {url}/` (the page commune), the worker's next school each time
    (`rotate`) or always the same one; a non-200 status stops the benchmark."""
    turn = [index]

    async def get() -> int:
        url = f"{urls[turn[0] % len(urls)]}/"
        if rotate:
            turn[0] += 1
        async with http.get(url) as response:
            await response.read()
            if response.status != 200:
                raise SystemExit(f"GET {url}: HTTP {response.status}")
        return 1

    return get


def add_phase_arguments(parser: argparse.ArgumentParser, in_flight: str) -> None:
    """--schools, --seconds, --concurrency (`in_flight` says of what) and --rounds."""
    parser.add_argument("--schools", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=3.0, help="per phase and round")
    parser.add_argument("--concurrency", type=int, default=10, help=f"{in_flight} in flight")
    parser.add_argument("--rounds", type=int, default=3)


def phases_bounded(args: argparse.Namespace) -> bool:
    """Whether the options of `add_phase_arguments` are within their bounds."""
    return bool(
        1 <= args.schools <= 30
        and 0 < args.seconds <= 60
        and 1 <= args.concurrency <= 200
        and 1 <= args.rounds <= 10
    )
