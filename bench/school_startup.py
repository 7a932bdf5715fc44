"""Time from a test's start to a PRONOTE school ready for login (issue 18).

`python -m bench.school_startup [--runs 5] [--no-docker] [--json]` measures, in one run:

1. plugin, first test of a session: `EmbeddedDatacenter.start()` (reap, claim a pool,
   `pronote-dc up`) then `add_school()`, until the school serves PRONOTE.net (what the
   `pronote_school` fixture does before the first test);
2. plugin, every next test: `add_school()` on the running data-center (and its removal,
   timed apart);
3. the testcontainers school (`PronoteSchoolContainer`) until its health check says healthy,
   when a Docker engine and the agent image are there;
4. baseline: a bare aiohttp server started as a fresh process, until it answers a GET.

Each is followed by one real pronotepy login (timed apart) to prove the school was ready.
Medians over `--runs`, min and max beside. Loopback only (the plugin's 127.86.0.0/16 block).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import pronotepy

from bench.running import print_figures, say
from pronote_dc_testing.embedded import EmbeddedDatacenter

AIOHTTP_SERVER = """
import sys
from aiohttp import web
app = web.Application()
app.router.add_get("/", lambda request: web.Response(text="ok"))
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bare_aiohttp() -> float:
    port = free_port()
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", AIOHTTP_SERVER, str(port)])
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as reply:
                    if reply.status == 200:
                        return time.perf_counter() - start
            except OSError:
                time.sleep(0.005)
    finally:
        process.terminate()
        process.wait()


def login(url: str, account: dict[str, str]) -> float:
    start = time.perf_counter()
    client = pronotepy.Client(url, account["login"], account["password"])
    assert client.logged_in, "the school was not ready for login"
    return time.perf_counter() - start


def embedded_first() -> tuple[float, float]:
    start = time.perf_counter()
    datacenter = EmbeddedDatacenter.start("2026-12-10T08:00")
    try:
        school = datacenter.add_school()
        ready = time.perf_counter() - start
        account = school.account("eleve")
        logged = login(school.url("eleve"), {"login": account.login, "password": account.password})
        return ready, logged
    finally:
        datacenter.stop()


def embedded_next(datacenter: EmbeddedDatacenter, removals: list[float]) -> tuple[float, float]:
    start = time.perf_counter()
    school = datacenter.add_school()
    ready = time.perf_counter() - start
    account = school.account("eleve")
    logged = login(school.url("eleve"), {"login": account.login, "password": account.password})
    start = time.perf_counter()
    datacenter.remove_school(school.uai)
    removals.append(time.perf_counter() - start)
    return ready, logged


def container() -> tuple[float, float]:
    from pronote_dc_testing.containers import PronoteSchoolContainer

    start = time.perf_counter()
    with PronoteSchoolContainer(date="2026-12-10T08:00") as school:
        ready = time.perf_counter() - start
        return ready, login(school.get_espace_url("eleve"), school.get_accounts()["eleve"])


def docker_ready() -> str:
    """'' when a Docker engine with the agent image answers, else why not."""
    try:
        import docker

        client = docker.from_env(timeout=10)
        client.images.get("pronote-dc/agent:latest")
        return ""
    except Exception as error:  # any reason: report it, measure the rest
        return f"skipped ({type(error).__name__}: run `make docker-images`)"


def summary(samples: list[float]) -> str:
    return (
        f"{statistics.median(samples) * 1000:8.1f} ms median "
        f"(min {min(samples) * 1000:.1f}, max {max(samples) * 1000:.1f}, n={len(samples)})"
    )


def ratio(samples: list[float], baseline: list[float]) -> str:
    return f"{statistics.median(samples) / statistics.median(baseline):.1f}x"


def repeat(runs: int, label: str, one: Callable[[], Any]) -> list[Any]:
    results = []
    for run in range(runs):
        say(f"{label}: run {run + 1}/{runs}")
        results.append(one())
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="repetitions of each (1-50)")
    parser.add_argument("--no-docker", action="store_true", help="skip the container")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()
    if not 1 <= args.runs <= 50:
        raise SystemExit("--runs must be between 1 and 50")
    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")  # Ryuk's image needs the Hub

    baseline = repeat(args.runs, "bare aiohttp", bare_aiohttp)
    first = repeat(args.runs, "plugin, first test", embedded_first)
    removals: list[float] = []
    with EmbeddedDatacenter.start("2026-12-10T08:00") as datacenter:
        following = repeat(
            args.runs, "plugin, next test", lambda: embedded_next(datacenter, removals)
        )
    result: dict[str, Any] = {
        "baseline: bare aiohttp process": summary(baseline),
        "plugin, first test (up + school)": summary([r for r, _ in first]),
        "plugin, next test (school)": summary([r for r, _ in following]),
        "plugin, school removal": summary(removals),
        "first pronotepy login": summary([x for _, x in first + following]),
        "ratio first test / baseline": ratio([r for r, _ in first], baseline),
        "ratio next test / baseline": ratio([r for r, _ in following], baseline),
    }
    why_not = "skipped (--no-docker)" if args.no_docker else docker_ready()
    if why_not:
        result["container (healthy)"] = why_not
    else:
        containers = repeat(args.runs, "container", container)
        result["container (healthy)"] = summary([r for r, _ in containers])
        result["ratio container / baseline"] = ratio([r for r, _ in containers], baseline)
    print_figures(result, args.json)


if __name__ == "__main__":
    main()
