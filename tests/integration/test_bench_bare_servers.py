"""`bench.bare_servers`, the baseline of `bench.school_memory` and the floor of
`bench.provision_local` (DESIGN decision 49): real forked processes on loopback addresses."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import re
import signal
import socket
import subprocess
import sys
import time

import grpc
import psutil
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench.local_fleet import BenchFailure, _loopback_addresses_in_use, bare_servers
from tests.integration.harness import free_pool


def _addresses(count: int) -> list[str]:
    return [str(host) for host in ipaddress.ip_network(free_pool()).hosts()][:count]


async def _answer(address: str) -> grpc.StatusCode:
    """The status a health check gets from ADDRESS:49300 (a bare server has no service)."""
    async with grpc.aio.insecure_channel(
        f"{address}:49300", options=[("grpc.enable_http_proxy", 0)]
    ) as channel:
        try:
            await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=10
            )
        except grpc.aio.AioRpcError as error:
            return error.code()
    return grpc.StatusCode.OK


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_forking(pid: int, servers: int = 50) -> None:
    """Until the `bench.bare_servers` parent that is `pid` or its child has forked `servers`
    (of its 200 or more)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        top = psutil.Process(pid)
        for process in (top, *top.children()):
            with contextlib.suppress(psutil.NoSuchProcess):
                forking = "bench.bare_servers" in process.cmdline()
                if forking and len(process.children()) >= servers:
                    return
        time.sleep(0.005)
    pytest.fail(f"no bare servers' parent forked {servers} servers within 60 s")


def test_the_forked_servers_serve_and_their_wave_is_timed() -> None:
    addresses = _addresses(3)

    async def scenario() -> tuple[dict[str, object], list[grpc.StatusCode]]:
        async with bare_servers(addresses, timeout=60) as started:
            answers = await asyncio.gather(*(_answer(address) for address in addresses))
            return started, list(answers)

    started, answers = asyncio.run(scenario())
    # Each address has its own process answering gRPC: no service, so UNIMPLEMENTED.
    assert answers == [grpc.StatusCode.UNIMPLEMENTED] * 3
    pids = started["pids"]
    assert isinstance(pids, list) and len(set(pids)) == 3
    seconds, cpu, forks = started["seconds"], started["cpu_seconds"], started["fork_cpu_seconds"]
    assert isinstance(seconds, float) and isinstance(cpu, float) and isinstance(forks, float)
    assert 0 < seconds < 60
    # The forks' CPU is the parent's part of the whole (the children's is in clock ticks of
    # 10 ms: a bare server's start, a few ms, can round to none).
    assert 0 < forks <= cpu
    assert not any(_alive(pid) for pid in pids)  # stopped when the block ended


def test_an_address_already_taken_fails_the_floor_saying_so() -> None:
    addresses = _addresses(2)
    with socket.socket() as holder:
        holder.bind((addresses[1], 49300))
        holder.listen()

        async def scenario() -> None:
            async with bare_servers(addresses, timeout=60):
                pass

        expected = f"1 bare servers could not listen on port 49300 (the first: {addresses[1]})"
        with pytest.raises(BenchFailure, match=re.escape(expected)):
            asyncio.run(scenario())


def test_ctrl_c_during_the_floor_leaves_no_server_behind() -> None:
    """The terminal's Ctrl-C reaches the benchmark's process group while the bare servers'
    parent is forking (in a session of its own): the benchmark stops it, and it stops every
    server it forked, also one forked while the SIGTERM was on its way."""
    benchmark = subprocess.Popen(
        # 127.67/16: no other test draws there (the suite's provision_local uses 127.61).
        [
            *(sys.executable, "-m", "bench.provision_local", "--schools", "400"),
            *("--baseline-schools", "1", "--pool-octet", "67", "--timeout", "120"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert benchmark.stderr is not None
    for line in benchmark.stderr:
        if line.startswith("floor:"):
            break
    else:
        pytest.fail(f"the benchmark ended (status {benchmark.wait()}) before its floor")
    _wait_forking(benchmark.pid)
    os.killpg(benchmark.pid, signal.SIGINT)
    rest = benchmark.stderr.read()
    assert benchmark.wait(timeout=120) == 130, rest
    assert "interrupted" in rest
    assert "Traceback" not in rest and "Exception ignored" not in rest, rest
    assert not [a for a in _loopback_addresses_in_use() if a.startswith("127.67.")]
    left = [  # this run's bare servers' parent and its forks (they keep its command line)
        process.pid
        for process in psutil.process_iter(["cmdline"])
        if "bench.bare_servers" in (command := process.info["cmdline"] or [])
        and any(argument.startswith("127.67.") for argument in command)
    ]
    assert left == []


def test_ctrl_c_by_hand_while_forking_stops_every_server() -> None:
    """`python -m bench.bare_servers` run by hand and interrupted while it forks: exit 130,
    every server it forked stopped (a KeyboardInterrupt raised in os.fork's at-fork hooks
    would be swallowed there and the forks would go on)."""
    addresses = [f"127.67.250.{i}" for i in range(1, 201)]
    parent = subprocess.Popen(
        [sys.executable, "-m", "bench.bare_servers", *addresses],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    _wait_forking(parent.pid)
    os.killpg(parent.pid, signal.SIGINT)  # as a terminal's Ctrl-C
    _, errors = parent.communicate(timeout=120)
    assert parent.returncode == 130, errors
    assert "Exception ignored" not in errors and "Traceback" not in errors, errors
    assert not [a for a in _loopback_addresses_in_use() if a.startswith("127.67.250.")]
