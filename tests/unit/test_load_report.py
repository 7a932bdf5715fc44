"""The load report as printed for people."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from loadtest.report import print_report


def school(uai: str, attacker_attempts: int, suspended: list[str]) -> dict[str, Any]:
    return {
        "uai": uai,
        "address": "127.90.0.1",
        "users": 2,
        "sessions_attempted": 2,
        "sessions_opened": 2,
        "sessions_refused": 0,
        "rpcs": 10,
        "errors": 0,
        "attacker_attempts": attacker_attempts,
        "suspended_sources": suspended,
    }


def report(schools: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "scenario": "bruteforce",
        "users": 4,
        "attackers": 1,
        "distinct_source_ips": 5,
        "elapsed_seconds": 5.0,
        "stopped_by": "duration",
        "sessions": {"opened": 4, "refused": 0, "failed": 0, "attempted": 4},
        "rpcs": {"total": 20, "per_second": 4.0},
        "operations": [],
        "refusals": [],
        "schools": schools,
        "errors": [],
    }


def test_a_fleet_where_only_some_schools_were_attacked_prints_every_school() -> None:
    console = Console(record=True, width=200)
    print_report(
        report([school("0750001A", 7, ["127.91.0.9"]), school("0750002B", 0, [])]), console
    )
    text = console.export_text()
    assert "0750001A" in text and "0750002B" in text
    assert "127.91.0.9" in text and "attacks" in text
