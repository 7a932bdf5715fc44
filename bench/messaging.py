"""Messages sent and read per second across 10 schools (a student replying, the teacher
reading), beside bare `GET /pronote/` to the same servers in the same run; then the `mobile`
load scenario's sessions per second.

`python -m bench.messaging [--schools N] [--seconds S] [--concurrency C] [--json]`:

1. a fresh data-center (`pronote-dc up --demo N`) on a random /27 of 127.84/16;
2. each school's sample student and the teacher of one of their discussions log in (the
   teacher's password issued through the console); they stay logged in;
3. baseline: C clients GET the page commune `/pronote/` back to back;
4. messaging: C student/teacher pairs, round-robin over the schools: the student opens the
   discussion (ListeMessages) and replies (SaisieMessage, saved with the school's state
   before the answer), the teacher lists the unread discussions (ListeMessagerie avecLu
   false) and opens the discussion (ListeMessages marquerCommeLu): one message sent and read
   = 4 HTTP requests. With more pairs than schools, pairs of a school share the discussion.
   Phases alternate for R rounds; medians are reported;
5. `pronote-dc load --scenario mobile` for a bounded time: sessions per second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import subprocess
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import grpc

from bench.addresses import free_pool
from bench.fleet import (
    add_phase_arguments,
    bare_get_worker,
    demo_fleet,
    phases_bounded,
    phases_run,
    pronote_url,
    sample_student,
)
from bench.running import measure_rounds, print_report, say
from loadtest.web_client import WebClient
from protos import console_pb2, console_pb2_grpc
from vm_agent.domain import synthetic
from vm_agent.domain.counters import RESOURCE_FIELDS, BaseCounters
from vm_agent.domain.school_data import PersonKind

SOURCE_POOL = "127.84.250.0/24"  # the mobile scenario's clients, outside the fleet's pool

REQUESTS_PER_MESSAGE = 4


def pairs(env: dict[str, str], schools: list[Any]) -> list[dict[str, Any]]:
    """Per school: the sample student, a teacher they have a discussion with (password
    issued), and that discussion's subject."""
    state = Path(env["PRONOTE_DC_STATE_DIR"])
    address = json.loads((state / "controller.json").read_text())["console_address"]
    token = (state / "operator.token").read_text().strip()
    stub = console_pb2_grpc.ConsoleStub(grpc.insecure_channel(address))
    metadata = (("authorization", f"Bearer {token}"),)
    found = []
    for school in schools:
        ref = console_pb2.SchoolRef(uai=school.uai)
        base = next(b for b in stub.ListBases(ref, metadata=metadata).bases if b.in_service)
        counters = BaseCounters(**{f: getattr(base.counters, f) for f in RESOURCE_FIELDS})
        data = synthetic.generate(base.synthetic_seed, base.school_year, counters)
        account = sample_student(school)
        student = data.person(account.login)
        assert student is not None
        for discussion in data.discussions_for(student.id):
            people = [data.person_by_id(i) for i in discussion.participant_ids]
            teacher = next((p for p in people if p and p.kind is PersonKind.PROFESSEUR), None)
            if teacher is not None:
                break
        else:
            raise SystemExit(f"{account.login} has no discussion with a teacher")
        password = f"bench-{random.randrange(10**9)}"
        stub.IssuePassword(
            console_pb2.IssuePasswordRequest(
                uai=school.uai, login=teacher.login, password=password
            ),
            metadata=metadata,
        )
        found.append(
            {
                "url": pronote_url(school),
                "student": (account.login, account.password),
                "teacher": (teacher.login, password),
                "subject": discussion.subject,
            }
        )
    return found


async def logged_in(http: aiohttp.ClientSession, page: str, login: str, password: str) -> WebClient:
    client = WebClient(http, page)
    await client.open()
    if not await client.login(login, password):
        raise SystemExit(f"login refused for {login} at {page}")
    return client


async def bench(args: argparse.Namespace, accounts: list[dict[str, Any]]) -> dict[str, Any]:
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    urls = [account["url"] for account in accounts]

    async def message_worker(index: int) -> Callable[[], Awaitable[int]]:
        school = accounts[index % len(accounts)]
        student = await logged_in(http, f"{school['url']}/eleve.html", *school["student"])
        teacher = await logged_in(http, f"{school['url']}/professeur.html", *school["teacher"])
        listing = await student.call("ListeMessagerie", {"avecLu": True}, 131)
        item = next(d for d in listing["listeMessagerie"]["V"] if d["objet"] == school["subject"])
        possessions = item["listePossessionsMessages"]["V"]
        listing = await teacher.call("ListeMessagerie", {"avecLu": True}, 131)
        mine = next(d for d in listing["listeMessagerie"]["V"] if d["objet"] == school["subject"])
        theirs = mine["listePossessionsMessages"]["V"]

        async def send_and_read() -> int:
            opened = await student.call(
                "ListeMessages", {"listePossessionsMessages": possessions}, 131
            )
            await student.call(
                "SaisieMessage",
                {
                    "messagePourReponse": opened["messagePourReponse"]["V"],
                    "contenu": f"Message {index}",
                    "bouton": opened["listeBoutons"]["V"][0],
                    "listeFichiers": [],
                },
                131,
            )
            # The teacher lists the unread discussions, then opens it (another pair of the
            # same school may have read it already: it is opened anyway).
            await teacher.call("ListeMessagerie", {"avecLu": False}, 131)
            await teacher.call(
                "ListeMessages", {"marquerCommeLu": True, "listePossessionsMessages": theirs}, 131
            )
            return 1

        return send_and_read

    messaging = await asyncio.gather(*(message_worker(i) for i in range(args.concurrency)))
    phases = {
        "page_requests": [bare_get_worker(http, urls, i) for i in range(args.concurrency)],
        "messages": list(messaging),
    }
    results = await measure_rounds(phases, args.rounds, args.seconds, warm_up=1.0)
    await http.close()
    medians = {name: statistics.median(values) for name, values in results.items()}
    requests = medians["messages"] * REQUESTS_PER_MESSAGE
    return {
        **phases_run(args, len(accounts)),
        "bare_page_requests_per_second": round(medians["page_requests"], 1),
        "messages_sent_and_read_per_second": round(medians["messages"], 1),
        "messaging_http_requests_per_second": round(requests, 1),
        "messaging_requests_vs_bare": round(requests / medians["page_requests"], 3),
        "all_rounds": {name: [round(v, 1) for v in values] for name, values in results.items()},
    }


def mobile_scenario(env: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    """`pronote-dc load --scenario mobile`, bounded in time, from the load generator's own
    source addresses (127.84.250.0/24, outside the fleet's pool)."""
    command = [
        sys.executable,
        "-m",
        "datacenter.cli",
        "load",
        "--json",
        "--scenario",
        "mobile",
        "--users",
        str(args.mobile_users),
        "--duration",
        str(args.mobile_seconds),
        "--ramp-up",
        "0",
        "--think-time",
        "0",
        "--source-pool",
        SOURCE_POOL,
    ]
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=args.mobile_seconds + 120
    )
    if done.returncode != 0:
        raise SystemExit(f"pronote-dc load failed: {done.stderr[-2000:]}")
    report = json.loads(done.stdout)
    opened, elapsed = report["sessions"]["opened"], report["elapsed_seconds"]
    operations = {row["operation"]: row for row in report["operations"]}
    return {
        "mobile_users": args.mobile_users,
        "mobile_sessions_opened": opened,
        "mobile_sessions_per_second": round(opened / elapsed, 1),
        "mobile_p95_ms": {name: row["p95_ms"] for name, row in sorted(operations.items())},
        "mobile_refused": [
            f"{e['operation']}: {e['reason']} x{e['count']}" for e in report["errors"]
        ],
    }


def render(report: dict[str, Any]) -> str:
    lines = [
        f"PRONOTE.net messaging across {report['schools']} schools ({report['concurrency']} "
        f"student/teacher pairs; median of {report['rounds']} x {report['seconds_per_phase']} s)",
        f"  bare GET /pronote/ (baseline)     {report['bare_page_requests_per_second']:8.1f}"
        " requests/s",
        f"  messages sent and read            {report['messages_sent_and_read_per_second']:8.1f}"
        " messages/s"
        f" = {report['messaging_http_requests_per_second']:.0f} requests/s"
        f" = {report['messaging_requests_vs_bare']:.2f}x baseline",
        f"  mobile scenario ({report['mobile_users']} apps)       "
        f"{report['mobile_sessions_per_second']:8.1f} sessions/s"
        f" ({report['mobile_sessions_opened']} sessions)",
    ]
    lines += [f"    p95 {name:18} {ms:7.1f} ms" for name, ms in report["mobile_p95_ms"].items()]
    lines += [f"    refused: {line}" for line in report["mobile_refused"]]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_phase_arguments(parser, "pairs")
    parser.add_argument("--mobile-users", type=int, default=20)
    parser.add_argument("--mobile-seconds", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not (
        phases_bounded(args) and 1 <= args.mobile_users <= 200 and 1 <= args.mobile_seconds <= 120
    ):
        parser.error(
            "keep it bounded: --schools 1-30, --seconds 0-60, --concurrency 1-200, "
            "--mobile-users 1-200, --mobile-seconds 1-120"
        )
    pool = free_pool(84, args.schools, exclude=SOURCE_POOL)
    with demo_fleet(args.schools, pool) as (env, schools):
        accounts = pairs(env, schools[: args.schools])
        report = asyncio.run(bench(args, accounts))
        say("mobile scenario...")
        report.update(mobile_scenario(env, args))
    print_report(report, args.json, render)
    return 0


if __name__ == "__main__":
    sys.exit(main())
