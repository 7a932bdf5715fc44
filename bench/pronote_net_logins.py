"""Complete PRONOTE.net logins per second across 10 schools, beside a bare HTTP request to the
same servers, measured in the same run.

`python -m bench.pronote_net_logins [--schools N] [--seconds S] [--concurrency C] [--json]`:

1. a fresh data-center (`pronote-dc up --demo N`) on a random loopback block of 127.130/16;
2. baseline: C clients GET the page commune `/pronote/` of the schools back to back (plain
   aiohttp handling, no protocol);
3. logins: the same C clients each run a complete student login with encryption and
   compression on (espace page, FonctionParametres, Identification, Authentification,
   ParametresUtilisateur: 5 HTTP requests), round-robin over the schools.

Phases alternate for R rounds; medians are reported. Everything is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import grpc

from bench.running import measure_rate, say
from loadtest.web_client import WebClient
from protos import console_pb2, console_pb2_grpc

PRONOTE_NET_PORT = 8080
REQUESTS_PER_LOGIN = 5


async def bench(args: argparse.Namespace, schools: list[Any]) -> dict[str, Any]:
    accounts = []
    for school in schools:
        student = next(a for a in school.sample_accounts if a.role == "eleve")
        url = f"http://{school.address}:{PRONOTE_NET_PORT}/pronote"
        accounts.append((url, student.login, student.password))
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    def page_worker(index: int) -> Callable[[], Awaitable[int]]:
        turn = [index]

        async def get() -> int:
            url = f"{accounts[turn[0] % len(accounts)][0]}/"
            turn[0] += 1
            async with http.get(url) as response:
                await response.read()
                if response.status != 200:
                    raise SystemExit(f"GET {url}: HTTP {response.status}")
            return 1

        return get

    def login_worker(index: int) -> Callable[[], Awaitable[int]]:
        turn = [index]

        async def login() -> int:
            url, login_name, password = accounts[turn[0] % len(accounts)]
            turn[0] += 1
            client = WebClient(http, f"{url}/eleve.html")
            await client.open()
            if not await client.login(login_name, password):
                raise SystemExit(f"login refused for {login_name} at {url}")
            if not (client.cipher.encrypt and client.cipher.compress):
                raise SystemExit("the espace page did not turn encryption and compression on")
            return 1

        return login

    phases = {
        "page_requests": [page_worker(i) for i in range(args.concurrency)],
        "logins": [login_worker(i) for i in range(args.concurrency)],
    }
    results: dict[str, list[float]] = {name: [] for name in phases}
    # Warm-up: every school generates its synthetic school on its first login (~0.3 s each),
    # and connections open; neither belongs in the figures.
    warm = [login_worker(i) for i in range(len(accounts))]
    await asyncio.gather(*(worker() for worker in warm))
    for workers in phases.values():
        await measure_rate(1.0, workers)
    for round_number in range(args.rounds):
        for name, workers in phases.items():
            results[name].append(await measure_rate(args.seconds, workers))
            say(f"round {round_number + 1}: {name} {results[name][-1]:.1f}/s")
    await http.close()
    medians = {name: statistics.median(values) for name, values in results.items()}
    login_requests = medians["logins"] * REQUESTS_PER_LOGIN
    return {
        "schools": len(schools),
        "concurrency": args.concurrency,
        "seconds_per_phase": args.seconds,
        "rounds": args.rounds,
        "bare_page_requests_per_second": round(medians["page_requests"], 1),
        "logins_per_second": round(medians["logins"], 1),
        "login_http_requests_per_second": round(login_requests, 1),
        "login_requests_vs_bare": round(login_requests / medians["page_requests"], 3),
        "all_rounds": {name: [round(v, 1) for v in values] for name, values in results.items()},
        "cpus": os.cpu_count(),
    }


def start_fleet(
    tmp: Path, count: int, pool: str = ""
) -> tuple[subprocess.Popen[bytes], dict[str, str], list[Any]]:
    """`pronote-dc up --demo COUNT` on `pool` (default: a random /27 of 127.130/16), console
    and HTTP on free ports; (controller, its environment, the ready schools)."""
    pool = pool or f"127.130.{random.randrange(256)}.{random.randrange(0, 256, 32)}/27"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PRONOTE_DC_")},
        "PRONOTE_DC_STATE_DIR": str(tmp / "state"),
        "PRONOTE_DC_ADDRESS_POOL": pool,
        "PRONOTE_DC_HTTP_ADDRESS": "127.0.0.1:0",
    }
    log = open(tmp / "controller.log", "wb")  # noqa: SIM115
    command = [sys.executable, "-m", "datacenter.cli", "up", "--console-address", "127.0.0.1:0"]
    controller = subprocess.Popen([*command, "--demo", str(count)], env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + 180
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
            ready = [s for s in schools if any(a.role == "eleve" for a in s.sample_accounts)]
            if len(ready) >= count:
                return controller, env, ready
        except (FileNotFoundError, ValueError, KeyError, grpc.RpcError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"{count} demo schools with student accounts were not ready within 180 s")


def render(report: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"PRONOTE.net logins across {report['schools']} schools ({report['concurrency']} "
            f"clients in flight; median of {report['rounds']} x {report['seconds_per_phase']} s)",
            f"  bare GET /pronote/ (baseline)        {report['bare_page_requests_per_second']:8.1f}"
            " requests/s",
            f"  complete logins (CrA+CoA on)         {report['logins_per_second']:8.1f} logins/s"
            f" = {report['login_http_requests_per_second']:.0f} requests/s"
            f" = {report['login_requests_vs_bare']:.2f}x baseline",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--schools", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=3.0, help="per phase and round")
    parser.add_argument("--concurrency", type=int, default=10, help="clients in flight")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not (
        1 <= args.schools <= 30
        and 0 < args.seconds <= 60
        and 1 <= args.concurrency <= 200
        and 1 <= args.rounds <= 10
    ):
        parser.error("keep it bounded: --schools 1-30, --seconds 0-60, --concurrency 1-200")
    with tempfile.TemporaryDirectory(prefix="pronote-dc-bench-") as tmp:
        controller, env = None, dict(os.environ)
        try:
            controller, env, schools = start_fleet(Path(tmp), args.schools)
            report = asyncio.run(bench(args, schools[: args.schools]))
        finally:
            if controller is not None:
                controller.terminate()
                controller.wait(timeout=20)
                subprocess.run(
                    [sys.executable, "-m", "datacenter.cli", "down"],
                    env=env,
                    capture_output=True,
                    timeout=120,
                )
    print(json.dumps(report, indent=2) if args.json else render(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
