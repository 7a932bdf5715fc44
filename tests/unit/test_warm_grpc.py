"""gRPC warmed in the warm parent (DESIGN decision 37): afterwards no gRPC thread is left, a
fork serves gRPC, and a warm parent whose warm-up fails starts again without it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

# A fresh interpreter: the test process itself has gRPC initialised by other tests.
FORK_AFTER_WARM = textwrap.dedent(
    """
    import asyncio, os, sys
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from grpc_health.v1.health import aio as health_aio
    from vm_agent import warm_grpc

    warm_grpc.warm()
    threads_after_warm = len(os.listdir("/proc/self/task"))
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        async def child():
            server = grpc.aio.server()
            health_pb2_grpc.add_HealthServicer_to_server(health_aio.HealthServicer(), server)
            port = server.add_insecure_port("127.0.0.1:0")
            await server.start()
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                reply = await health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(), timeout=10
                )
            await server.stop(None)
            status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
            os.write(write_fd, status.encode())
        try:
            asyncio.run(child())
        finally:
            os._exit(0)
    os.close(write_fd)
    status = os.read(read_fd, 64).decode()
    os.waitpid(pid, 0)
    print(threads_after_warm, status)
    """
)


def test_a_fork_after_the_warm_up_serves_grpc_and_inherits_no_thread() -> None:
    done = subprocess.run(
        [sys.executable, "-c", FORK_AFTER_WARM], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "SERVING"]


FAILING_WARM_UP = textwrap.dedent(
    """
    import sys
    from vm_agent import warm_grpc, zygote

    def fails():
        raise warm_grpc.ThreadsLeft("3 gRPC threads still running after its shutdown")

    warm_grpc.warm = fails
    sys.exit(zygote.main())
    """
)


def test_a_warm_parent_whose_warm_up_fails_starts_again_without_it() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", FAILING_WARM_UP],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        ready = json.loads(parent.stdout.readline())
        assert ready == {"id": 0, "ok": True}
        with open(f"/proc/{parent.pid}/cmdline", "rb") as cmdline:
            assert b"--without-grpc-warm-up" in cmdline.read()  # the same process, exec'd
    finally:
        assert parent.stdin is not None
        parent.stdin.close()  # the warm parent ends when its controller goes
        parent.wait(timeout=30)
    assert parent.stderr is not None
    assert "gRPC not warmed (3 gRPC threads still running" in parent.stderr.read()
