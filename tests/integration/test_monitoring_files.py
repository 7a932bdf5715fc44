"""monitoring/: the shipped Prometheus config and alert rules pass promtool and their unit
tests, and every metric that rules and dashboards use is exposed by a running fleet."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from protos import console_pb2
from tests.integration.metrics_helpers import metrics_datacenter, names, samples
from tests.integration.prometheus_server import MONITORING, require_tool

RULES = MONITORING / "rules/pronote.rules.yml"
RULE_TESTS = MONITORING / "rules/pronote.rules.test.yml"
DASHBOARDS = sorted((MONITORING / "grafana/dashboards").glob("*.json"))
# Series our own exporters expose (Prometheus adds `up` itself).
OUR_METRIC = re.compile(r"\b(?:pronote|process)_[a-z0-9_]+\b")
# Nothing exposes these until a school has made its first backup: the fleet below advances
# its simulated clock past the first backup and archive.
BACKUP_METRICS = {
    "pronote_backup_last_success_timestamp_seconds",
    "pronote_archive_last_success_timestamp_seconds",
    "pronote_backup_last_verification_success",
}


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [require_tool("promtool"), *args], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_the_shipped_config_and_rules_are_valid() -> None:
    promtool("check", "config", str(MONITORING / "prometheus.yml"))
    promtool("check", "rules", str(RULES))


def test_alert_rules_pass_their_unit_tests() -> None:
    assert "SUCCESS" in promtool("test", "rules", str(RULE_TESTS)).stdout


def test_every_alert_has_a_unit_test() -> None:
    rules = yaml.safe_load(RULES.read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    tests = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    tested = {t["alertname"] for test in tests for t in test.get("alert_rule_test", [])}
    assert alerts == tested
    assert {
        "SchoolServerDown",
        "LicencesNearlyExhausted",
        "BackupTooOld",
        "ArchiveTooOld",
        "BackupVerificationFailed",
        "SuspendedIpsSurge",
        "ControllerDown",
    } <= alerts


def expressions() -> list[str]:
    rules = yaml.safe_load(RULES.read_text())
    found = [r["expr"] for g in rules["groups"] for r in g["rules"]]
    for path in DASHBOARDS:
        dashboard: dict[str, Any] = json.loads(path.read_text())
        found += [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
        found += [v["definition"] for v in dashboard["templating"]["list"]]
    return found


def test_dashboards_cover_the_fleet_and_one_school_by_uai() -> None:
    titles = {json.loads(p.read_text())["uid"]: p for p in DASHBOARDS}
    assert set(titles) == {"pronote-fleet", "pronote-school"}
    school = json.loads(titles["pronote-school"].read_text())
    assert [v["name"] for v in school["templating"]["list"]] == ["uai"]
    assert all('uai="$uai"' in t["expr"] for p in school["panels"] for t in p["targets"])


def test_every_metric_in_rules_and_dashboards_is_exposed_by_a_running_fleet(
    tmp_path: Path,
) -> None:
    used = {m for expr in expressions() for m in OUR_METRIC.findall(expr)}
    with metrics_datacenter(tmp_path, clock="simulated", clock_start="2026-09-01") as dc:
        school = dc.provision("0750061").school
        dc.operator().AdvanceClock(
            console_pb2.AdvanceClockRequest(
                to_seconds=dc.operator().GetClock(console_pb2.ClockRequest()).now_seconds + 86400
            )
        )
        exposed = names(samples(f"http://{school.address}:49380/metrics"))
        exposed |= names(samples(f"http://{dc.http_address}/metrics"))
    missing = used - exposed
    assert not missing, f"used in monitoring/ but exposed by nobody: {sorted(missing)}"
    assert used >= BACKUP_METRICS  # the backup alerts are wired
