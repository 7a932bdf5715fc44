"""How often a `grpc.aio` server's own threads wake up per call, by how often it is called.

`python -m bench.grpc_wakeups [--intervals 0.16 0.75] [--calls 100] [--json]` starts, for
each interval, one server process like a school's (a `grpc.aio` server with the health
service on 127.0.0.1, a port the kernel chooses), calls its health check once every
interval (unary, from this process, after 5 calls not counted), and reads each of the
server's threads from /proc before and after: wake-ups (voluntary context switches) and CPU
seconds (utime + stime, at the kernel's tick, 10 ms), per call and per second, by kind:
gRPC's `event_engine` workers, its `lifeguard` and `grpc_global_timer`, the `grpc.aio`
poller (a Python thread), and the main thread (asyncio, the servicer).

Why: in `bench.school_year` a school is called once a simulated day, every 0.16 s at 100
schools and every 0.75 s at 400, and the schools' gRPC threads cost twice as much per
school-day at 400 (docs/PERFORMANCE.md). gRPC's work-stealing pool makes a worker that ran
work sleep 15 ms, then 1.3 times longer each time it finds none, up to 3 s: the longer the
gap between calls, the more wake-ups a call costs. The first interval is the baseline, the
same server called more often, in the same run; the ratios to it are printed. Each interval
is measured twice: with gRPC's defaults (the keys without a prefix), and with a school's
settings (`school_…`: `common.school_grpc`: the experiments of DESIGN decision 43, whose
listener does not use that pool, and the server's and the controller's channel options of
decision 45, no HTTP/2 BDP probe).

Bounded: calls x intervals seconds plus a second per server; each server is stopped at the
end of its interval. Progress to stderr, the figures (or JSON) to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio  # type: ignore[attr-defined]

from bench.running import TICKS, print_figures, say
from common.school_grpc import (
    GRPC_EXPERIMENTS,
    SCHOOL_CHANNEL_OPTIONS,
    SCHOOL_GRPC_EXPERIMENTS,
    SCHOOL_SERVER_OPTIONS,
    school_environment,
)

WARM_UP_CALLS = 5
GRPC_THREADS = {"event_engine", "lifeguard", "grpc_global_tim"}


def serve(school: bool) -> None:
    """The server process: serve until killed; its port on the first line of stdout. With
    `school`, a school's server options, else gRPC's defaults (but no port sharing)."""
    options = list(SCHOOL_SERVER_OPTIONS) if school else [("grpc.so_reuseport", 0)]

    async def main() -> None:
        server = grpc.aio.server(options=options)
        health_pb2_grpc.add_HealthServicer_to_server(health_aio.HealthServicer(), server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        print(port, flush=True)
        await server.wait_for_termination()

    asyncio.run(main())


def threads(pid: int) -> dict[str, tuple[str, int, float]]:
    """Each thread of the process: tid -> (kind, voluntary context switches, CPU seconds)."""
    found: dict[str, tuple[str, int, float]] = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        task = Path(f"/proc/{pid}/task/{tid}")
        try:
            comm = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rpartition(")")[2].split()
            status = (task / "status").read_text().splitlines()
        except OSError:
            continue  # gone meanwhile
        switches = next(int(x.split()[1]) for x in status if x.startswith("voluntary_ctxt"))
        if tid == str(pid):
            kind = "main thread"
        elif comm in GRPC_THREADS:
            kind = comm
        else:
            kind = "grpc.aio poller and others"
        found[tid] = (kind, switches, (int(fields[11]) + int(fields[12])) / TICKS)
    return found


def settings() -> dict[str, dict[str, str]]:
    """The environments the servers run in: gRPC's defaults (no GRPC_EXPERIMENTS), and a
    school's (`common.school_grpc`, DESIGN decision 43)."""
    defaults = {k: v for k, v in os.environ.items() if k != GRPC_EXPERIMENTS}
    return {"grpc_defaults": defaults, "school": school_environment(defaults)}


def measure(
    interval: float, calls: int, environment: dict[str, str], school: bool
) -> dict[str, Any]:
    """One server called `calls` times, one call every `interval` seconds: its threads' figures
    by kind. With `school`, the server and the channel take a school's options (decision 45)."""
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.grpc_wakeups", "--serve", "school" if school else "defaults"],
        stdout=subprocess.PIPE,
        text=True,
        env=environment,
    )
    # a school's channel options already keep the channel off any proxy
    channel_options = list(SCHOOL_CHANNEL_OPTIONS) if school else [("grpc.enable_http_proxy", 0)]
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        with grpc.insecure_channel(f"127.0.0.1:{port}", options=channel_options) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            request = health_pb2.HealthCheckRequest()
            for _ in range(WARM_UP_CALLS):
                stub.Check(request, timeout=10)
                time.sleep(interval)
            before = threads(server.pid)
            started = time.monotonic()
            for _ in range(calls):
                stub.Check(request, timeout=10)
                time.sleep(interval)
            seconds = time.monotonic() - started
            after = threads(server.pid)
    finally:
        server.kill()
        server.wait(timeout=10)
    kinds: dict[str, dict[str, float]] = {}
    for tid, (kind, switches, cpu) in after.items():
        _, switches_before, cpu_before = before.get(tid, (kind, 0, 0.0))
        figures = kinds.setdefault(kind, {"threads": 0, "wake_ups": 0, "cpu": 0.0})
        figures["threads"] += 1
        figures["wake_ups"] += switches - switches_before
        figures["cpu"] += cpu - cpu_before
    return {
        kind: {
            "threads": int(f["threads"]),
            "wake_ups_per_call": round(f["wake_ups"] / calls, 2),
            "wake_ups_per_second": round(f["wake_ups"] / seconds, 2),
            "cpu_ms_per_call": round(f["cpu"] * 1000 / calls, 3),
        }
        for kind, f in sorted(kinds.items())
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--intervals", type=float, nargs="+", default=[0.16, 0.75])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--serve", choices=["school", "defaults"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve == "school")
        return
    if not 1 <= args.calls <= 10_000:
        raise SystemExit("--calls: 1 to 10000")
    if not all(0.001 <= i <= 10 for i in args.intervals):
        raise SystemExit("--intervals: each 0.001 to 10 seconds")
    result: dict[str, Any] = {"calls": args.calls}
    for setting, environment in settings().items():
        prefix = "" if setting == "grpc_defaults" else f"{setting}_"
        baseline: dict[str, Any] = {}
        for interval in args.intervals:
            say(f"{setting}: a call every {interval} s, {args.calls} calls…")
            figures = measure(interval, args.calls, environment, setting == "school")
            result[f"{prefix}every_{interval}_s"] = figures
            if not baseline:
                baseline = figures
                continue
            ratios = f"{prefix}every_{interval}_s_vs_every_{args.intervals[0]}_s_wake_ups_per_call"
            result[ratios] = {
                kind: round(f["wake_ups_per_call"] / baseline[kind]["wake_ups_per_call"], 2)
                for kind, f in figures.items()
                if baseline.get(kind, {}).get("wake_ups_per_call")
            }
    result["school_grpc_experiments"] = SCHOOL_GRPC_EXPERIMENTS
    result["school_server_options"] = [list(o) for o in SCHOOL_SERVER_OPTIONS]
    result["load_average_1_5_15"] = [round(x, 2) for x in os.getloadavg()]
    print_figures(result, args.json)


if __name__ == "__main__":
    main()
