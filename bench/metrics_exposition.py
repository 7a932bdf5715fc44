"""Controller `/metrics` and service discovery with 1000 registered schools, and the series
one school target exposes, beside a baseline measured in the same run.

`python -m bench.metrics_exposition [--schools N] [--requests R] [--json]`

1. A registry (SQLite, as the controller keeps it) with N schools — demo orders with their
   sample accounts and an address each — and the fleet's statuses set to running. The schools
   are registered, NOT started: the controller's /metrics and /sd/schools read the registry
   and the fleet's in-memory statuses at request time and never contact a school, so N running
   processes would change nothing in the work measured here (and 1000 schools start in their
   own benchmark, bench/provision_local.py).
2. The controller's real aiohttp app on 127.0.0.1:<free port>: R sequential GETs of /metrics
   and of /sd/schools, client wall time per request (median and max).
3. Baselines in the same process, served by the same aiohttp stack and fetched by the same
   client: prometheus_client's exposition of as many plain gauge samples as the controller
   page holds; and, for SD, `json.dumps` of N ready-made target groups (the same groups the
   controller answers, built once) on each GET.
4. One school target: the samples of a school's /metrics (its collector on a live school with
   a base in service and one session per mode, plus its process metrics).

Targets: exposition <= 0.3 s with 1000 schools; <= 300 series per school target.
Nothing leaves 127.0.0.1; the temporary directory is removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from bench.registered import register_schools
from common.clock import SimulatedClock, SystemClock
from datacenter.adapters.http import controller_app, target_group
from datacenter.adapters.metrics import ControllerMetrics
from datacenter.core.fleet import Fleet, SchoolStatus
from datacenter.core.ipam import AddressPool
from datacenter.core.registry import Registry
from datacenter.core.settings import Settings
from provisioning.factory import open_runtime
from vm_agent.adapters.metrics import school_registry
from vm_agent.adapters.slot import SchoolSlot
from vm_agent.domain.licences import LicencePolicy
from vm_agent.domain.modes import ADMINISTRATION_GROUP, Mode, UserKind
from vm_agent.domain.school import SchoolIdentity, SchoolServer
from vm_agent.domain.security import SecurityPolicy

EXPOSITION_TARGET_SECONDS = 0.3
SERIES_TARGET = 300
POOL = "127.80.0.0/20"  # never bound: the schools are registered, not started


async def timed_gets(url: str, requests: int) -> tuple[list[float], bytes]:
    seconds, body = [], b""
    async with aiohttp.ClientSession() as session:
        for _ in range(requests):
            started = time.perf_counter()
            async with session.get(url) as response:
                body = await response.read()
                assert response.status == 200, body[:200]
            seconds.append(time.perf_counter() - started)
    return seconds, body


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


def sample_count(text: str) -> int:
    return sum(len(f.samples) for f in text_string_to_metric_families(text))


def _canonical(body: bytes) -> list[str]:
    return sorted(json.dumps(group, sort_keys=True) for group in json.loads(body))


def baseline_sd_app(groups: list[dict[str, Any]]) -> web.Application:
    """The SD floor: the same target groups, already built, dumped to JSON on each GET."""

    async def page(_: web.Request) -> web.Response:
        return web.Response(body=json.dumps(groups).encode(), content_type="application/json")

    app = web.Application()
    app.router.add_get("/sd/schools", page)
    return app


def baseline_app(samples: int) -> web.Application:
    registry = CollectorRegistry(auto_describe=False)
    gauge = Gauge("baseline_value", "plain gauge samples", ["n"], registry=registry)
    for n in range(samples):
        gauge.labels(str(n)).set(n)

    async def page(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(registry))

    app = web.Application()
    app.router.add_get("/metrics", page)
    return app


def one_school_series() -> int:
    school = SchoolServer(
        SchoolIdentity("0750655E", "Bench"),
        LicencePolicy(4, 30),
        SecurityPolicy(),
        600.0,
        SimulatedClock(time.time()),
        save=lambda _: None,
    )
    base = school.create_base("2026-2027")
    school.put_in_service(base.id, spr_login="spr", spr_password="pw")
    school.add_user("secr", "pw", "Secr", UserKind.PERSONNEL, ADMINISTRATION_GROUP)
    school.add_user("prof", "pw", "Prof", UserKind.PROFESSEUR)
    for mode, login in (
        (Mode.ADMINISTRATIF, "secr"),
        (Mode.EDT, "secr"),
        (Mode.VIE_SCOLAIRE, "secr"),
        (Mode.ENSEIGNANT, "prof"),
    ):
        school.connect(mode, login, "pw", "10.0.0.1", "", "")
    slot = SchoolSlot()
    slot.fill(school)
    return sample_count(generate_latest(school_registry(slot, "2026")).decode())


def summary(seconds: list[float]) -> dict[str, float]:
    return {"median_s": statistics.median(seconds), "max_s": max(seconds)}


async def bench(schools: int, requests: int, directory: Path) -> dict[str, Any]:
    settings = Settings(state_dir=directory)
    registry = Registry(settings.registry_path)
    records = register_schools(registry, schools, POOL)
    fleet = Fleet(
        settings,
        registry,
        AddressPool(POOL, registry),
        open_runtime("local://"),  # never prepared: nothing is started
        agents=None,  # type: ignore[arg-type]
        clock=SystemClock(),
    )
    fleet.statuses.update({r.uai: SchoolStatus.RUNNING for r in records})
    metrics = ControllerMetrics(fleet)
    for seconds in (0.2, 0.4, 0.8):
        metrics.provision_seconds.observe(seconds)

    runner, base = await serve(controller_app(fleet, metrics, settings.school_metrics_port))
    try:
        metrics_seconds, page = await timed_gets(f"{base}/metrics", requests)
        sd_seconds, sd_body = await timed_gets(f"{base}/sd/schools", requests)
    finally:
        await runner.cleanup()
    controller_samples = sample_count(page.decode())
    assert len(json.loads(sd_body)) == schools

    runner, base = await serve(baseline_app(controller_samples))
    try:
        baseline_seconds, _ = await timed_gets(f"{base}/metrics", requests)
    finally:
        await runner.cleanup()
    groups = [target_group(r.uai, r.address, settings.school_metrics_port) for r in records]
    runner, base = await serve(baseline_sd_app(groups))
    try:
        dumps_seconds, dumps_body = await timed_gets(f"{base}/sd/schools", requests)
    finally:
        await runner.cleanup()
    if _canonical(dumps_body) != _canonical(sd_body):
        raise SystemExit("the SD baseline does not serve what the controller serves")
    registry.close()
    return {
        "schools": schools,
        "requests": requests,
        "controller_metrics": {**summary(metrics_seconds), "samples": controller_samples},
        "baseline_plain_gauges": {**summary(baseline_seconds), "samples": controller_samples},
        "sd": {**summary(sd_seconds), "bytes": len(sd_body)},
        "baseline_json_over_http": {**summary(dumps_seconds), "bytes": len(dumps_body)},
        "series_per_school_target": one_school_series(),
        "targets": {
            "exposition_s": EXPOSITION_TARGET_SECONDS,
            "series_per_school": SERIES_TARGET,
        },
    }


def print_table(result: dict[str, Any]) -> None:
    ms = 1000.0
    print(f"{result['schools']} registered schools, {result['requests']} requests each")
    rows = [
        ("controller /metrics", result["controller_metrics"], "baseline_plain_gauges"),
        ("controller /sd/schools", result["sd"], "baseline_json_over_http"),
    ]
    for label, figures, baseline_key in rows:
        baseline = result[baseline_key]
        print(
            f"  {label:24} median {figures['median_s'] * ms:7.2f} ms  max "
            f"{figures['max_s'] * ms:7.2f} ms   baseline ({baseline_key}) median "
            f"{baseline['median_s'] * ms:7.2f} ms  (target <= {EXPOSITION_TARGET_SECONDS} s)"
        )
    print(f"  controller /metrics samples: {result['controller_metrics']['samples']}")
    print(
        f"  series per school target: {result['series_per_school_target']} "
        f"(target <= {SERIES_TARGET})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.metrics_exposition", description=__doc__)
    parser.add_argument("--schools", type=int, default=1000, help="registered schools (1000)")
    parser.add_argument("--requests", type=int, default=20, help="GETs per endpoint (20)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pdc-bench-metrics-") as directory:
        result = asyncio.run(bench(args.schools, args.requests, Path(directory)))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result)
    ok = (
        max(result["controller_metrics"]["max_s"], result["sd"]["max_s"])
        <= EXPOSITION_TARGET_SECONDS
        and result["series_per_school_target"] <= SERIES_TARGET
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
