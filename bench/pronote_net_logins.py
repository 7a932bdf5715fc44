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
import os
import statistics
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiohttp

from bench.fleet import (
    PHASE_BOUNDS,
    add_phase_arguments,
    bare_get_worker,
    demo_fleet,
    phases_bounded,
    phases_run,
    pronote_url,
    sample_student,
)
from bench.running import measure_rounds, print_report
from loadtest.web_client import WebClient

PRONOTE_NET_PORT = 8080
REQUESTS_PER_LOGIN = 5


async def bench(args: argparse.Namespace, schools: list[Any]) -> dict[str, Any]:
    accounts = []
    for school in schools:
        student = sample_student(school)
        accounts.append((pronote_url(school), student.login, student.password))
    urls = [url for url, _, _ in accounts]
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

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
        "page_requests": [bare_get_worker(http, urls, i) for i in range(args.concurrency)],
        "logins": [login_worker(i) for i in range(args.concurrency)],
    }
    # Warm-up: every school generates its synthetic school on its first login (~0.3 s each),
    # and connections open; neither belongs in the figures.
    warm = [login_worker(i) for i in range(len(accounts))]
    await asyncio.gather(*(worker() for worker in warm))
    results = await measure_rounds(phases, args.rounds, args.seconds, warm_up=1.0)
    await http.close()
    medians = {name: statistics.median(values) for name, values in results.items()}
    login_requests = medians["logins"] * REQUESTS_PER_LOGIN
    return {
        **phases_run(args, len(schools)),
        "bare_page_requests_per_second": round(medians["page_requests"], 1),
        "logins_per_second": round(medians["logins"], 1),
        "login_http_requests_per_second": round(login_requests, 1),
        "login_requests_vs_bare": round(login_requests / medians["page_requests"], 3),
        "all_rounds": {name: [round(v, 1) for v in values] for name, values in results.items()},
        "cpus": os.cpu_count(),
    }


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
    add_phase_arguments(parser, "clients")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not phases_bounded(args):
        parser.error(PHASE_BOUNDS)
    with demo_fleet(args.schools) as (_, schools):
        report = asyncio.run(bench(args, schools[: args.schools]))
    print_report(report, args.json, render)
    return 0


if __name__ == "__main__":
    sys.exit(main())
