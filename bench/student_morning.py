"""A student's full morning on a mobile app, per second across 10 schools, beside a bare
`GET /pronote/` on the same servers in the same run; and a school's memory once read.

`python -m bench.student_morning [--schools N] [--seconds S] [--concurrency C] [--json]`:

1. a fresh data-center (`pronote-dc up --demo N+1`) on a random loopback block of 127.83/16
   (console and HTTP ports chosen free);
2. baseline: C clients GET the page commune `/pronote/` of the schools back to back;
3. mornings: the same C clients each run a student's morning, round-robin over N schools:
   login (espace page, FonctionParametres, Identification, Authentification,
   ParametresUtilisateur), the week's timetable, the period's marks, the fortnight's
   homework, absences (PagePresence, when the server has it), the week's menu, the report
   card (PageBulletins) and its PDF (GenerationPDF, then the download);
4. memory: PSS of each school read by the mornings beside the one school nobody read.

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
import psutil

from bench.addresses import free_pool
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
from loadtest.web_client import WebClient, WebError

MIB = 1024 * 1024


class Morning:
    """One student's morning against one school (a new page and login each time)."""

    def __init__(self, http: aiohttp.ClientSession, url: str, login: str, password: str) -> None:
        self.http, self.url, self.login, self.password = http, url, login, password
        self.with_absences = True

    async def run(self) -> int:
        client = WebClient(self.http, f"{self.url}/eleve.html")
        await client.open()
        if not await client.login(self.login, self.password):
            raise SystemExit(f"login refused for {self.login} at {self.url}")
        requests = 5
        week = client.current_week()
        if not await client.timetable(week):
            raise SystemExit(f"{self.url}: no lesson this week")
        grades = await client.grades()
        tabs = client.user["ressource"]["listeOngletsPourPeriodes"]["V"]
        period = tabs[0]["periodeParDefaut"]["V"]
        homework = await client.call(
            "PageCahierDeTexte", {"domaine": {"_T": 8, "V": f"[{week}..{week + 1}]"}}, onglet=88
        )
        requests += 3
        if self.with_absences:
            try:
                await client.call("PagePresence", {"periode": period}, onglet=19)
                requests += 1
            except WebError:
                self.with_absences = False  # not served by this version: left out
        menu = await client.call("PageMenus", {"date": client.general["JourOuvre"]}, onglet=10)
        report = await client.call("PageBulletins", {"periode": {**period, "G": 2}}, onglet=13)
        pdf = await client.call(
            "GenerationPDF", {"genreGenerationPDF": 2, "periode": {**period, "G": 2}}, onglet=13
        )
        async with self.http.get(f"{client.root}/{pdf['url']['V']}") as response:
            body = await response.read()
        requests += 4
        if not (grades and homework is not None and menu.get("ListeJours") and report):
            raise SystemExit(f"{self.url}: an empty reply in the morning")
        if response.status != 200 or not body.startswith(b"%PDF-"):
            raise SystemExit(f"{self.url}: the report card PDF did not download")
        return requests


async def bench(args: argparse.Namespace, schools: list[Any]) -> dict[str, Any]:
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    mornings = []
    for school in schools:
        student = sample_student(school)
        mornings.append(Morning(http, pronote_url(school), student.login, student.password))
    urls = [m.url for m in mornings]
    requests_per_morning: list[int] = []

    def morning_worker(index: int) -> Callable[[], Awaitable[int]]:
        turn = [index]

        async def morning() -> int:
            chosen = mornings[turn[0] % len(mornings)]
            turn[0] += 1
            requests_per_morning.append(await chosen.run())
            return 1

        return morning

    phases = {
        "page_requests": [bare_get_worker(http, urls, i) for i in range(args.concurrency)],
        "mornings": [morning_worker(i) for i in range(args.concurrency)],
    }
    # Warm-up: each school generates its synthetic school on first read; not in the figures.
    await asyncio.gather(*(m.run() for m in mornings))
    results = await measure_rounds(phases, args.rounds, args.seconds, warm_up=1.0)
    await http.close()
    medians = {name: statistics.median(values) for name, values in results.items()}
    per_morning = statistics.median(requests_per_morning)
    morning_requests = medians["mornings"] * per_morning
    return {
        **phases_run(args, len(schools)),
        "bare_page_requests_per_second": round(medians["page_requests"], 1),
        "mornings_per_second": round(medians["mornings"], 2),
        "http_requests_per_morning": per_morning,
        "with_absences": all(m.with_absences for m in mornings),
        "morning_http_requests_per_second": round(morning_requests, 1),
        "morning_requests_vs_bare": round(morning_requests / medians["page_requests"], 3),
        "all_rounds": {name: [round(v, 1) for v in values] for name, values in results.items()},
        "cpus": os.cpu_count(),
    }


def _pool(schools: int) -> str:
    """A free block of 127.83/16: this benchmark's own addresses."""
    return free_pool(83, schools)


def pss_mib(pid: int) -> float:
    return float(psutil.Process(pid).memory_full_info().pss) / MIB


def render(report: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"A student's morning across {report['schools']} schools ({report['concurrency']} "
            f"clients in flight; median of {report['rounds']} x {report['seconds_per_phase']} s)",
            f"  bare GET /pronote/ (baseline)     {report['bare_page_requests_per_second']:8.1f}"
            " requests/s",
            f"  student mornings                  {report['mornings_per_second']:8.2f} mornings/s"
            f" x {report['http_requests_per_morning']} requests"
            f" = {report['morning_http_requests_per_second']:.0f} requests/s"
            f" = {report['morning_requests_vs_bare']:.2f}x baseline"
            + ("" if report["with_absences"] else " (no PagePresence on this version)"),
            f"  school PSS once read (median)     {report['read_school_pss_mib']:8.1f} MiB"
            f"   beside an unread school {report['unread_school_pss_mib']:.1f} MiB"
            f" (+{report['read_school_pss_mib'] - report['unread_school_pss_mib']:.1f} MiB)",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_phase_arguments(parser, "clients")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not phases_bounded(args):
        parser.error(PHASE_BOUNDS)
    with demo_fleet(args.schools + 1, pool=_pool(args.schools + 1)) as (_, schools):
        read, unread = schools[: args.schools], schools[args.schools]
        report = asyncio.run(bench(args, read))
        report["read_school_pss_mib"] = round(statistics.median(pss_mib(s.pid) for s in read), 1)
        report["unread_school_pss_mib"] = round(pss_mib(unread.pid), 1)
    print_report(report, args.json, render)
    return 0


if __name__ == "__main__":
    sys.exit(main())
