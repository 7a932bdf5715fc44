"""The baseline of `bench.school_memory`: bare `grpc.aio` servers forked like schools.

`python -m bench.bare_servers ADDRESS...` imports what the schools' warm parent imports
(`vm_agent.zygote`, DESIGN decision 4), warms gRPC (decision 37) and freezes the GC as it
does, and forks one child per address, each serving a `grpc.aio` server with no service on
ADDRESS:49300. Once all serve it prints `{"pids": [...], "failed": N}` on one line; when its
stdin closes it stops them.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import signal
import sys
from collections.abc import Sequence

import grpc

import vm_agent.zygote  # noqa: F401  (the same warm import as the schools' parent)
from vm_agent import warm_grpc

BARE_PORT = 49300


def main(addresses: Sequence[str]) -> int:
    warm_grpc.warm()  # as the schools' warm parent does (DESIGN decision 37)
    gc.freeze()
    children: list[int] = []
    readiness: list[int] = []
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
    print(json.dumps({"pids": children, "failed": failed}), flush=True)
    sys.stdin.read()  # until the benchmark closes our stdin (or dies)
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    for pid in children:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    return 0


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
