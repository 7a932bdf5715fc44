"""The baseline of `bench.school_memory`: bare `grpc.aio` servers forked like schools.

`python -m bench.bare_servers ADDRESS...` imports what the schools' warm parent imports
(`vm_agent.zygote`, DESIGN decision 4), warms gRPC (decision 37) and freezes the GC as it
does, and forks one child per address, each serving a `grpc.aio` server with no service on
ADDRESS:49300. Once all serve it prints one JSON line: `{"pids": [...], "failed": N,
"seconds": S, "cpu_seconds": C, "fork_cpu_seconds": F}`, S the wall time from its first fork
to the last child's "ready", C the CPU of this parent over the forks plus every child's until
then (utime + stime), F this parent's part of it; when its stdin closes it stops them.

The same forks are `bench.school_memory`'s baseline (their memory) and `bench.provision_local`'s
floor (their time: what a wave of schools cannot go below on this machine, DESIGN decision 49).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import resource
import signal
import sys
import time
from collections.abc import Sequence

import grpc

import vm_agent.zygote  # noqa: F401  (the same warm import as the schools' parent)
from bench.running import cpu_times
from vm_agent import warm_grpc

BARE_PORT = 49300


def main(addresses: Sequence[str]) -> int:
    warm_grpc.warm()  # as the schools' warm parent does (DESIGN decision 37)
    gc.freeze()
    children: list[int] = []
    readiness: list[int] = []
    started, cpu_before = time.perf_counter(), _own_cpu()
    for address in addresses:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(read_fd)
                os.setsid()
                asyncio.run(_bare_server(address, write_fd))
            finally:
                os._exit(1)
        os.close(write_fd)
        children.append(pid)
        readiness.append(read_fd)
    failed = 0
    for read_fd in readiness:
        if os.read(read_fd, 64).strip() != b"ready":
            failed += 1
        os.close(read_fd)
    seconds, fork_cpu = time.perf_counter() - started, _own_cpu() - cpu_before
    children_cpu = sum(sum(cpu_times(pid) or (0.0, 0.0)) for pid in children)
    print(
        json.dumps(
            {
                "pids": children,
                "failed": failed,
                "seconds": seconds,
                "cpu_seconds": fork_cpu + children_cpu,
                "fork_cpu_seconds": fork_cpu,
            }
        ),
        flush=True,
    )
    sys.stdin.read()  # until the benchmark closes our stdin (or dies)
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    for pid in children:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    return 0


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _bare_server(address: str, ready_fd: int) -> None:
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    try:
        server.add_insecure_port(f"{address}:{BARE_PORT}")
    except RuntimeError:
        os.write(ready_fd, b"error\n")
        return
    await server.start()
    os.write(ready_fd, b"ready\n")
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    await stopping.wait()
    await server.stop(None)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
