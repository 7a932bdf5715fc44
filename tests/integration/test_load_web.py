"""`pronote-dc load --scenario evening`: students and parents log in to PRONOTE.net on demo
schools; the report's logins match the web users the schools list, with percentiles."""

from __future__ import annotations

import ipaddress
import json
import random
import subprocess
from pathlib import Path
from typing import Any

from protos import common_pb2, console_pb2
from tests.integration.harness import PRONOTE_DC, free_pool, running_datacenter, wait_for


def test_the_evening_rush_logs_families_in_to_pronote_net(tmp_path: Path) -> None:
    pool = f"127.130.{random.randrange(128, 256)}.0/24"
    with running_datacenter(tmp_path, free_pool(first_octets="127.130"), "--demo", "2") as dc:

        def demo_schools_ready() -> list[Any]:
            listed = dc.operator().ListSchools(console_pb2.ListSchoolsRequest()).schools
            ready = [s for s in listed if any(a.role == "eleve" for a in s.sample_accounts)]
            return ready if len(ready) == 2 else []

        schools = wait_for(demo_schools_ready, timeout=60)
        result = subprocess.run(
            [*PRONOTE_DC, "load", "--json", "--scenario", "evening", "--users", "6",
             "--sessions", "6", "--ramp-up", "0", "--think-time", "0.2",
             "--session-length", "0.5", "--source-pool", pool],
            env=dc.env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        report = json.loads(result.stdout)
        assert report["sessions"]["opened"] == 6 and report["errors"] == []
        operations = {row["operation"]: row for row in report["operations"]}
        assert operations["web_login"]["ok"] == 6
        assert operations["web_timetable"]["ok"] == 6
        assert operations["web_grades"]["ok"] >= 6
        for row in operations.values():
            assert 0 < row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"] <= row["max_ms"]

        # Web sessions stay until they expire (families close the tab): the schools list
        # every student and parent, from the load generator's own addresses.
        web_rows = []
        for school in schools:
            rows = dc.operator().ListConnections(console_pb2.SchoolRef(uai=school.uai))
            web = [r for r in rows.connections if r.session_id.startswith("web-")]
            assert all(r.mode == common_pb2.MODE_UNSPECIFIED for r in web)
            web_rows.extend(web)
            licences = dc.operator().GetLicences(console_pb2.SchoolRef(uai=school.uai))
            assert licences.administratif_in_use == licences.enseignant_in_use == 0
        assert len(web_rows) == 6
        assert all(
            ipaddress.ip_address(r.source_ip) in ipaddress.ip_network(pool) for r in web_rows
        )
        espaces = {r.application.rsplit(" - ", 1)[1] for r in web_rows}
        assert espaces == {"Espace Élèves", "Espace Parents"}


def test_the_mobile_scenario_replays_the_app_at_7_pm(tmp_path: Path) -> None:
    pool = f"127.130.{random.randrange(128, 256)}.0/24"
    with running_datacenter(tmp_path, free_pool(first_octets="127.130"), "--demo", "1") as dc:

        def demo_school_ready() -> list[Any]:
            listed = dc.operator().ListSchools(console_pb2.ListSchoolsRequest()).schools
            return [s for s in listed if any(a.role == "eleve" for a in s.sample_accounts)]

        wait_for(demo_school_ready, timeout=60)
        result = subprocess.run(
            [*PRONOTE_DC, "load", "--json", "--scenario", "mobile", "--users", "3",
             "--sessions", "6", "--ramp-up", "0", "--think-time", "0.1", "--source-pool", pool],
            env=dc.env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        report = json.loads(result.stdout)
        operations = {row["operation"]: row for row in report["operations"]}
        assert operations["app_instance"]["ok"] == 6
        assert operations["app_login"]["ok"] == 6  # 3 with the password, then 3 with a token
        for name in ("app_home", "app_timetable", "app_grades", "app_messages", "app_news_read"):
            assert operations[name]["ok"] == 6, (name, report)
        # Parents may not tick homework: the report says which call was refused and why.
        done = operations["app_homework_done"]
        assert (done["calls"], done["ok"]) == (6, 2), done
        refused = [e for e in report["errors"] if e["operation"] == "app_homework_done"]
        assert refused[0]["count"] == 4 and "only the student" in refused[0]["reason"]
