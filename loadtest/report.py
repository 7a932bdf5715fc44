"""The final report: one dict (for --json), Rich tables for people, a CSV time series."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from loadtest.engine import LoadRun
from loadtest.users import VirtualUser


def build_report(run: LoadRun) -> dict[str, Any]:
    r, plan = run.recorder, run.plan
    elapsed = max(run.elapsed_seconds, 1e-9)
    sources = {u.source_ip for u in run.users if u.source_ip}
    schools = []
    for uai in sorted(r.schools):
        s = r.schools[uai]
        target = next(u.target for u in run.users if u.target.uai == uai)
        schools.append(
            {
                "uai": uai,
                "address": target.address,
                "users": s.users,
                "sessions_attempted": s.attempted,
                "sessions_opened": s.opened,
                "sessions_refused": s.refused,
                "attacker_attempts": s.attacker_attempts,
                "attacker_refused": s.attacker_refused,
                "rpcs": s.rpcs,
                "errors": s.errors,
                "suspended_sources": sorted(s.suspended_sources),
            }
        )
    return {
        "scenario": plan.scenario,
        "plan": plan.to_dict(),
        "stopped_by": run.stopped_by,
        "elapsed_seconds": round(run.elapsed_seconds, 3),
        "users": sum(1 for u in run.users if not u.attacker),
        "attackers": sum(1 for u in run.users if u.attacker),
        "distinct_source_ips": len(sources),
        "sessions": {
            "attempted": r.attempted,
            "opened": r.opened,
            "refused": r.refused,
            "failed": r.failed,
            "still_open": r.active,
            "attacker_attempts": r.attacker_attempts,
            "attacker_refused": r.attacker_refused,
        },
        "refusals": [
            {"who": who, "code": code, "reason": reason, "count": count}
            for (who, code, reason), count in sorted(r.refusals.items(), key=lambda i: -i[1])
        ],
        "rpcs": {"total": r.rpcs, "per_second": round(r.rpcs / elapsed, 1)},
        "operations": r.operation_rows(),
        "schools": schools,
        "errors": [
            {"operation": op, "code": code, "reason": reason, "count": count}
            for (op, code, reason), count in sorted(r.errors.items(), key=lambda i: -i[1])
        ],
    }


def print_report(report: dict[str, Any], console: Console) -> None:
    sessions = report["sessions"]
    console.print(
        f"[bold]{report['scenario']}[/]: {report['users']} users"
        + (f" + {report['attackers']} attackers" if report["attackers"] else "")
        + f" from {report['distinct_source_ips']} source IPs, {report['elapsed_seconds']:.1f} s"
        f" (stopped by {report['stopped_by']}); sessions {sessions['opened']} opened, "
        f"{sessions['refused']} refused, {sessions['failed']} failed of {sessions['attempted']}; "
        f"{report['rpcs']['total']} RPCs, {report['rpcs']['per_second']} RPC/s"
    )
    _table(console, "latency per operation (ms)", report["operations"])
    _table(console, "refusals", report["refusals"])
    attacked = any(row["attacker_attempts"] for row in report["schools"])
    _table(console, "per school", [_short_school_row(r, attacked) for r in report["schools"]])
    _table(console, "errors", report["errors"])


def _short_school_row(row: dict[str, Any], attacked: bool) -> dict[str, Any]:
    """The per-school row with names short enough for a terminal; every row has the same
    columns, with the attack columns when any school was attacked."""
    short = {
        "uai": row["uai"],
        "address": row["address"],
        "users": row["users"],
        "tried": row["sessions_attempted"],
        "opened": row["sessions_opened"],
        "refused": row["sessions_refused"],
        "rpcs": row["rpcs"],
        "errors": row["errors"],
    }
    if attacked:
        short["attacks"] = row["attacker_attempts"]
        short["suspended"] = ", ".join(row["suspended_sources"])
    return short


def _table(console: Console, title: str, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        console.print(f"[dim]{title}: none[/]")
        return
    table = Table(title=title, title_justify="left")
    for column in rows[0]:
        table.add_column(
            column.replace("_", " "), justify="right" if _numeric(rows, column) else "left"
        )
    for row in rows:
        table.add_row(*(str(value) for value in row.values()))
    console.print(table)


def _numeric(rows: Sequence[dict[str, Any]], column: str) -> bool:
    return all(isinstance(row[column], int | float) for row in rows)


def write_series_csv(path: Path, series: Sequence[dict[str, float]]) -> None:
    if not series:
        return
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(series[0]))
        writer.writeheader()
        writer.writerows(series)


def progress_line(run: LoadRun) -> str:
    r = run.recorder
    recent = run.series[-1]["rpcs_per_second"] if run.series else 0
    return (
        f"{run.elapsed():6.1f}/{run.plan.deadline_seconds:.0f} s  users {run.running}  "
        f"open {r.active}  opened {r.opened}  refused {r.refused}  errors {r.error_count}  "
        f"RPCs {r.rpcs} ({recent} /s)"
    )


def describe_users(users: Sequence[VirtualUser]) -> str:
    schools = {u.target.uai for u in users}
    return f"{len(users)} simulated clients on {len(schools)} schools"
