"""`python -m bench.school_year` splits what a year costs the way PERFORMANCE.md reads it:
the schools' CPU with the part of gRPC's own threads apart, their page faults, and what the
machine's CPUs did besides the fleet. A real benchmark run: a controller, real schools on
loopback addresses nobody holds (the tests' 127.62/16), the same-run baseline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_small_year_prints_the_split_of_the_schools_cpu() -> None:
    run = subprocess.run(
        [
            *(sys.executable, "-m", "bench.school_year", "--schools", "3", "--step-days", "61"),
            # 127.66/16: no other test draws there (the harness's pools are 127.62 by default,
            # and on the other xdist worker only its own draws are kept apart)
            *("--pool-octet", "66", "--timeout", "120", "--json"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    figures = json.loads(run.stdout)
    assert figures["schools_running"] == 3
    assert figures["files_written"] == figures["baseline_files_written"] > 0
    assert figures["page_merging"] == "on"
    if os.geteuid() == 0 and Path("/sys/kernel/mm/ksm/run").exists():  # CI: the pass runs
        # the year began once the merging pass after the provisioning had ended, not during it
        assert figures["merging_passes_before_the_year"] >= 1
    cpu = figures["year_cpu_seconds_per_school"]
    # gRPC's threads are a part of the schools' CPU, never more than all of it
    assert 0 <= cpu["schools_grpc_threads"] <= cpu["schools"]
    # each school runs gRPC's own threads (its lifeguard, timer, event engine): at least 2
    assert cpu["schools_grpc_threads_alive"] >= 2
    assert cpu["schools_minor_faults"] > 0  # a school that makes backups touches pages
    assert cpu["schools_system"] <= cpu["schools"]
    # the machine's CPUs did at least what the fleet did: what is left is not negative
    assert figures["machine_cpu_seconds_per_school_besides_the_fleet"] > -0.05
    assert cpu["machine_busy"] >= cpu["controller"] + cpu["schools"] - 0.05
    # the hypervisor's steal, in seconds (not ticks): at most the year's wall time on each CPU
    steal_seconds = cpu["machine_steal"] * figures["schools_running"]
    assert 0 <= steal_seconds <= figures["year_wall_seconds"] * (os.cpu_count() or 1) + 0.1
