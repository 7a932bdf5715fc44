"""The baseline of `bench.school_memory`: bare `grpc.aio` servers forked like schools.

`python -m bench.bare_servers ADDRESS...` imports what the schools' warm parent imports
(`vm_agent.zygote`, DESIGN decision 4), warms gRPC (decision 37) and freezes the GC as it
does, and forks one child per address, each serving a `grpc.aio` server with no service on
ADDRESS:49300. Once all serve it prints one JSON line: `{"pids": [...], "failed": N,
"failed_addresses": [the first 5], "seconds": S, "cpu_seconds": C, "fork_cpu_seconds": F}`,
S the wall time from its first fork to the last child's "ready", C the CPU of this parent over
the forks plus each child's until it was ready (getrusage, all threads), F this parent's part
of it; when its stdin closes it stops them (also if it closes while it still forks).

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
import select
import signal
import sys
import time
from collections.abc import Sequence
from types import FrameType

import grpc

import vm_agent.zygote  # noqa: F401  (the same warm import as the schools' parent)
from vm_agent import warm_grpc

BARE_PORT = 49300
_STOPPING = {signal.SIGTERM, signal.SIGINT}


def main(addresses: Sequence[str]) -> int:
    # The benchmark stops us by closing our stdin (we run in a session of our own, out of
    # reach of the terminal's Ctrl-C); SIGTERM, the benchmark giving up on us, and a Ctrl-C
    # when run by hand stop the children too: they have sessions of their own.
    signal.signal(signal.SIGTERM, _exit_on_term)
    warm_grpc.warm()  # as the schools' warm parent does (DESIGN decision 37)
    gc.freeze()
    children: list[int] = []
    try:
        _serve_until_stdin_closes(addresses, children)
    except KeyboardInterrupt:
        return 130
    finally:
        for stopping in _STOPPING:  # a second one must not cut the stop short
            signal.signal(stopping, signal.SIG_IGN)
        _stop(children)
    return 0


def _serve_until_stdin_closes(addresses: Sequence[str], children: list[int]) -> None:
    """Fork a bare server per address (their pids appended to `children` as they are made),
    print the JSON line once all have answered, then wait for stdin's end. Stops forking
    early if stdin ends first (the benchmark gone, even by kill -9)."""
    readiness: list[int] = []
    started, cpu_before = time.perf_counter(), _own_cpu()
    for address in addresses:
        if select.select([sys.stdin], [], [], 0)[0]:  # never written to: readable = ended
            print(
                f"bare servers: stdin ended after {len(children)} of {len(addresses)} forks; "
                "stopping them (it is how the benchmark stops us)",
                file=sys.stderr,
            )
            return
        read_fd, write_fd = os.pipe()
        # SIGTERM and SIGINT wait until the fork is done and its pid kept: raised in os.fork's
        # at-fork hooks (Python code), their SystemExit or KeyboardInterrupt would be
        # swallowed there ("Exception ignored") and the forks would go on.
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOPPING)
        pid = os.fork()
        if pid == 0:
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPPING)
                os.close(read_fd)
                os.setsid()
                asyncio.run(_bare_server(address, write_fd))
            finally:
                os._exit(1)
        children.append(pid)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPPING)
        os.close(write_fd)
        readiness.append(read_fd)
    failed: list[str] = []
    children_cpu = 0.0
    for address, read_fd in zip(addresses, readiness, strict=True):
        word, _, cpu = os.read(read_fd, 64).decode("ascii", "replace").strip().partition(" ")
        if word == "ready":
            children_cpu += float(cpu)
        else:
            failed.append(address)
        os.close(read_fd)
    seconds, fork_cpu = time.perf_counter() - started, _own_cpu() - cpu_before
    line = {
        "pids": children,
        "failed": len(failed),
        "failed_addresses": failed[:5],
        "seconds": seconds,
        "cpu_seconds": fork_cpu + children_cpu,
        "fork_cpu_seconds": fork_cpu,
    }
    try:
        print(json.dumps(line), flush=True)
    except BrokenPipeError:  # the benchmark is gone
        return
    sys.stdin.read()  # until the benchmark closes our stdin (or dies)


def _stop(children: Sequence[int]) -> None:
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    for pid in children:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def _exit_on_term(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


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
    # Its CPU to be ready, every thread's, to the microsecond (/proc's clock ticks of 10 ms
    # would round most of a bare server's few ms down to none).
    os.write(ready_fd, f"ready {_own_cpu():.6f}\n".encode("ascii"))
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    await stopping.wait()
    await server.stop(None)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
