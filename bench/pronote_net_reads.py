"""A student's dated reads per second across 10 schools (marks and averages, vie scolaire,
évaluations de compétences), beside a bare HTTP request to the same servers, in the same run.

`python -m bench.pronote_net_reads [--schools N] [--seconds S] [--concurrency C] [--json]`:

1. a fresh data-center (`pronote-dc up --demo N`, real clock) as `bench.pronote_net_logins`;
2. C students log in once (round-robin over the schools; encryption and compression on);
3. phases, alternated for R rounds, medians reported: bare `GET /pronote/` (the baseline),
   `DernieresNotes` of the current period (every average computed from the marks visible
   today), `PagePresence` (absences, retards, punitions until now) and `DernieresEvaluations`.

Everything is stopped at the end; every phase is bounded by --seconds.
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

READS = {  # function -> onglet; each gets the current period as the clients send it
    "DernieresNotes": 198,
    "PagePresence": 19,
    "DernieresEvaluations": 201,
}


def _period(client: WebClient) -> dict[str, Any]:
    tabs = client.user["ressource"]["listeOngletsPourPeriodes"]["V"]
    period = next(t["periodeParDefaut"]["V"] for t in tabs if t["G"] == 198)
    return {"N": period["N"], "L": period["L"], "G": 2}


async def bench(args: argparse.Namespace, schools: list[Any]) -> dict[str, Any]:
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    urls = [pronote_url(s) for s in schools]
    clients = []
    for index in range(args.concurrency):  # also generates each school's data (not timed)
        school = schools[index % len(schools)]
        student = sample_student(school)
        client = WebClient(http, f"{urls[index % len(urls)]}/eleve.html")
        await client.open()
        if not await client.login(student.login, student.password):
            raise SystemExit(f"login refused for {student.login} at {school.address}")
        clients.append(client)

    def read_worker(client: WebClient, name: str, onglet: int) -> Callable[[], Awaitable[int]]:
        period = _period(client)
        data = {"Periode": period} if name == "DernieresNotes" else {"periode": period}

        async def read() -> int:
            await client.call(name, data, onglet=onglet)
            return 1

        return read

    phases = {
        "bare_get": [bare_get_worker(http, urls, i, rotate=False) for i in range(args.concurrency)]
    }
    for name, onglet in READS.items():
        phases[name] = [read_worker(c, name, onglet) for c in clients]
    results = await measure_rounds(phases, args.rounds, args.seconds, warm_up=0.5)
    await http.close()
    medians = {name: statistics.median(values) for name, values in results.items()}
    return {
        **phases_run(args, len(schools)),
        "requests_per_second": {name: round(value, 1) for name, value in medians.items()},
        "vs_bare_get": {
            name: round(value / medians["bare_get"], 3) for name, value in medians.items()
        },
        "cpus": os.cpu_count(),
    }


def render(report: dict[str, Any]) -> str:
    lines = [
        f"PRONOTE.net dated reads across {report['schools']} schools ({report['concurrency']} "
        f"students in flight; median of {report['rounds']} x {report['seconds_per_phase']} s)"
    ]
    for name, rate in report["requests_per_second"].items():
        label = "bare GET /pronote/ (baseline)" if name == "bare_get" else name
        lines.append(
            f"  {label:32} {rate:8.1f} requests/s = {report['vs_bare_get'][name]:.2f}x baseline"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_phase_arguments(parser, "students")
    parser.add_argument("--pool", default="", help="loopback addresses (default: in 127.130/16)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not phases_bounded(args):
        parser.error(PHASE_BOUNDS)
    with demo_fleet(args.schools, args.pool) as (_, schools):
        report = asyncio.run(bench(args, schools[: args.schools]))
    print_report(report, args.json, render)
    return 0


if __name__ == "__main__":
    sys.exit(main())
