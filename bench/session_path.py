"""The licence-checked session path beside a bare gRPC echo, measured in the same run.

`python -m bench.session_path [--seconds S] [--concurrency C] [--rounds R] [--pool-octet N]
[--json]`:

1. baseline: a bare grpc.aio unary echo server in its own process; C clients, each with its
   own connection, call it back to back for S seconds;
2. session path: one real school (`pronote-dc up --demo 1` on a fresh state directory and a
   random loopback block in 127.N.0.0/16, N = 90 by default); the same C clients run Connect
   (Vie scolaire, password checked, licences counted) -> Heartbeat -> Disconnect back to back;
3. the same session path through the load generator's source-address relays (one loopback
   address per client), to show what the relay costs.

Phases alternate for R rounds; the median RPC/s of each is reported. Target: session path
>= 0.6x the echo baseline. Everything stays on loopback and is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import grpc

from bench.addresses import free_pool
from bench.fleet import start_controller, stop_fleet
from bench.running import measure_rounds, print_report
from loadtest.relay import Relay
from protos import client_pb2, client_pb2_grpc, common_pb2

RATIO_TARGET = 0.6
OPTIONS = [("grpc.use_local_subchannel_pool", 1), ("grpc.enable_http_proxy", 0)]
ECHO_SERVER = """
import asyncio, grpc, sys
async def main():
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    async def echo(request, context):
        return request
    handler = grpc.method_handlers_generic_handler(
        "bench.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(echo)})
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port(sys.argv[1] + ":0")
    await server.start()
    print(port, flush=True)
    await server.wait_for_termination()
asyncio.run(main())
"""


def _echo_workers(address: str, count: int) -> tuple[list[Any], list[Callable[[], Awaitable[int]]]]:
    channels = [grpc.aio.insecure_channel(address, options=OPTIONS) for _ in range(count)]
    payload = b"x" * 64

    def worker(channel: Any) -> Callable[[], Awaitable[int]]:
        echo = channel.unary_unary("/bench.Echo/Echo")

        async def call() -> int:
            await echo(payload, timeout=10)
            return 1

        return call

    return channels, [worker(c) for c in channels]


def _session_workers(
    addresses: Sequence[str], login: str, password: str
) -> tuple[list[Any], list[Callable[[], Awaitable[int]]]]:
    channels = [grpc.aio.insecure_channel(a, options=OPTIONS) for a in addresses]
    request = client_pb2.ConnectRequest(
        mode=common_pb2.MODE_VIE_SCOLAIRE, login=login, password=password, poste="bench"
    )

    def worker(channel: Any) -> Callable[[], Awaitable[int]]:
        stub = client_pb2_grpc.ClientPronoteStub(channel)

        async def session() -> int:
            reply = await stub.Connect(request, timeout=10)
            ref = client_pb2.SessionRef(session_id=reply.session_id)
            await stub.Heartbeat(ref, timeout=10)
            await stub.Disconnect(ref, timeout=10)
            return 3

        return session

    return channels, [worker(c) for c in channels]


async def bench(
    args: argparse.Namespace, school: Any, echo_address: str, relay_block: str
) -> dict[str, Any]:
    account = next(a for a in school.sample_accounts if a.role == "vie_scolaire")
    target = f"{school.address}:{school.client_port}"
    relays = [
        Relay(f"{relay_block}.{n + 1}", school.address, school.client_port)
        for n in range(args.concurrency)
    ]
    relayed = [await relay.start() for relay in relays]
    phases = {
        "echo": _echo_workers(echo_address, args.concurrency),
        "session_path": _session_workers(
            [target] * args.concurrency, account.login, account.password
        ),
        "session_path_relayed": _session_workers(relayed, account.login, account.password),
    }
    results = await measure_rounds(  # warm-up: connections, caches
        {name: workers for name, (_, workers) in phases.items()},
        args.rounds,
        args.seconds,
        warm_up=0.5,
        unit=" RPC/s",
        digits=0,
    )
    for channels, _ in phases.values():
        for channel in channels:
            await channel.close()
    for relay in relays:
        await relay.close()
    medians = {name: statistics.median(values) for name, values in results.items()}
    return {
        "concurrency": args.concurrency,
        "seconds_per_phase": args.seconds,
        "rounds": args.rounds,
        "rpc_per_second": {name: round(v, 1) for name, v in medians.items()},
        "all_rounds": {name: [round(v, 1) for v in values] for name, values in results.items()},
        "session_path_vs_echo": round(medians["session_path"] / medians["echo"], 3),
        "relayed_vs_echo": round(medians["session_path_relayed"] / medians["echo"], 3),
        "target": RATIO_TARGET,
        "cpus": os.cpu_count(),
    }


def start_fleet(tmp: Path, pool: str) -> tuple[subprocess.Popen[bytes], dict[str, str], Any]:

    def ready(schools: Sequence[Any]) -> list[Any] | None:
        return [schools[0]] if schools and schools[0].sample_accounts else None

    not_ready = "the demo school was not ready within 60 s"
    controller, env, picked = start_controller(tmp, 1, pool, ready, 60, 0.1, not_ready)
    return controller, env, picked[0]


def render(report: dict[str, Any]) -> str:
    rates = report["rpc_per_second"]
    ratio = report["session_path_vs_echo"]
    verdict = "meets" if ratio >= report["target"] else "MISSES"
    return "\n".join(
        [
            f"session path vs bare echo ({report['concurrency']} clients, each its own "
            f"connection; median of {report['rounds']} x {report['seconds_per_phase']} s)",
            f"  bare gRPC echo (baseline)           {rates['echo']:8.0f} RPC/s",
            f"  connect -> heartbeat -> disconnect  {rates['session_path']:8.0f} RPC/s"
            f"  = {ratio:.2f}x baseline ({verdict} the {report['target']}x target)",
            f"  same, through source-address relays {rates['session_path_relayed']:8.0f} RPC/s"
            f"  = {report['relayed_vs_echo']:.2f}x baseline",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per phase and round")
    parser.add_argument("--concurrency", type=int, default=10, help="clients in flight")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--pool-octet",
        type=int,
        default=90,
        help="the school, the echo and the relays on three /24 of 127.<this>.0.0/16 (90)",
    )
    args = parser.parse_args(argv)
    if not (0 < args.seconds <= 60 and 1 <= args.concurrency <= 200 and 1 <= args.rounds <= 10):
        parser.error("keep it bounded: --seconds 0-60, --concurrency 1-200, --rounds 1-10")
    if not 1 <= args.pool_octet <= 254:
        parser.error("--pool-octet: 1 to 254 (everything runs on 127.<N>.0.0/16)")
    with tempfile.TemporaryDirectory(prefix="pronote-dc-bench-") as tmp:
        # the school on a free /29 of 127.N/16, the echo and the relays on two other /24
        school_pool = free_pool(args.pool_octet, 1)
        school_third = int(school_pool.split(".")[2])
        echo_block, relay_block = (
            f"127.{args.pool_octet}.{third}"
            for third in random.sample([t for t in range(256) if t != school_third], 2)
        )
        echo_ip = f"{echo_block}.250"
        echo = subprocess.Popen(
            [sys.executable, "-c", ECHO_SERVER, echo_ip],
            stdout=subprocess.PIPE,
        )
        controller, env = None, dict(os.environ)
        try:
            assert echo.stdout is not None
            echo_address = f"{echo_ip}:{int(echo.stdout.readline())}"
            controller, env, school = start_fleet(Path(tmp), school_pool)
            report = asyncio.run(bench(args, school, echo_address, relay_block))
        finally:
            echo.terminate()
            echo.wait(timeout=10)
            stop_fleet(controller, env)
    print_report(report, args.json, render)
    return 0


if __name__ == "__main__":
    sys.exit(main())
