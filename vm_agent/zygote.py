"""The warm parent of the local runtime (DESIGN decision 4).

It imports everything a school server needs, serves gRPC once and shuts it down (no gRPC
thread is left when it forks: `vm_agent.warm_grpc`, DESIGN decision 37), then forks one school
per request: a fork costs ~5 ms and ~4 MiB where a fresh interpreter costs ~0.12 s and ~15 MiB.
Each school is forked into its own session, so it outlives this process and the controller
(which finds it again through its pid file); it reaps those that exit (`_reap`), so that their
CPU time adds up in its own children's time (benchmarks read it: a demo school's first server,
stopped once populated, would otherwise leave no trace).

Each school is forked with one end of a Unix socket pair whose other end stays here: over it
the school asks for a helper process (`vm_agent.isolated`, to generate its synthetic school
away from its own memory), which this process forks for it (DESIGN decision 30). A school's
end closing (it exited) closes ours.

Protocol on stdin/stdout, one JSON object per line:
  -> {"id": 1, "config": "/…/agent.json", "pid_file": "/…/agent.pid", "log": "/…/agent.log"}
  <- {"id": 1, "ok": true, "pid": 4242}   or   {"id": 1, "ok": false, "error": "…"}
  -> {"id": 2, "populate": "/…/agent.json", "request": "<base64 PopulateDemoRequest>"}
  <- {"id": 2, "ok": true, "reply": "<base64 PopulateDemoReply>"}   or   {…, "ok": false, …}
                                 (a demo school populated before it starts, by the worker
                                  this process forks for them: `vm_agent.population_worker`,
                                  `vm_agent.demo_population`, DESIGN decisions 38 and 41)
  -> {"id": 1, "cancel": true}   (the controller stopped waiting: the school, not ready yet, is
                                  killed and never answered for; a population not begun is
                                  dropped, the one being run ends its worker)
"""

from __future__ import annotations

import codecs
import contextlib
import ctypes
import gc
import json
import os
import selectors
import signal
import socket
import sys
from pathlib import Path

import vm_agent.server
from common.processes import MARK_PAGES_SIGNAL
from vm_agent import isolated, population_worker, warm_demo, warm_grpc
from vm_agent.__main__ import configure_logging, run

PR_SET_NAME = 15
PR_SET_PDEATHSIG = 1
WITHOUT_GRPC_WARM_UP = "--without-grpc-warm-up"  # its restart after a failed warm-up
# Looked up here, once: a ctypes library and function made in a school cost it ~0.2 MiB.
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl


def _spawn(request: dict[str, str]) -> tuple[int, int, socket.socket | None]:
    """Fork a school server in its own session; returns its pid, the read end of its
    readiness pipe and our end of its helper socket (None if no socket could be made: it then
    starts its helpers as fresh interpreters)."""
    read_fd, write_fd = os.pipe()
    ours: socket.socket | None
    its: socket.socket | None
    try:
        ours, its = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    except OSError as error:  # out of descriptors: the school works without
        print(f"no helper socket for {request['config']}: {error}", file=sys.stderr)
        ours = its = None
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            _become_school(request, write_fd, its.detach() if its is not None else None)
        finally:
            os._exit(1)
    os.close(write_fd)
    if its is not None:
        its.close()
    return pid, read_fd, ours


def _become_school(request: dict[str, str], ready_fd: int, helper_fd: int | None) -> None:
    _name_process(f"pdc-{Path(request['config']).parent.name}")
    log_fd = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    null_fd = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null_fd, 0)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    _close_all_but([fd for fd in (ready_fd, helper_fd) if fd is not None])
    if helper_fd is not None:
        isolated.use_warm_parent(helper_fd)
    code = run(Path(request["config"]), Path(request["pid_file"]), ready_fd)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _name_process(name: str) -> None:
    """Show the school in ps/top (the kernel keeps 15 bytes); forks share the parent's argv."""
    _PRCTL(PR_SET_NAME, name.encode()[:15], 0, 0, 0)


def _fork_helper(school: socket.socket) -> bool:
    """Fork the helper a school asks for on its socket (`vm_agent.isolated`); False once the
    school has closed its end. The helper is reaped by `_reap` and ends itself after
    `isolated.TIMEOUT_SECONDS`, as the school stops waiting then."""
    try:
        message, fds, _, _ = socket.recv_fds(school, len(isolated.HELPER_REQUEST), 2)
    except OSError:
        message, fds = b"", []
    asked = message == isolated.HELPER_REQUEST and len(fds) == 2
    if asked and os.fork() == 0:
        try:
            signal.alarm(int(isolated.TIMEOUT_SECONDS) + 5)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            _keep_only(fds)
            isolated.answer(fds[0], fds[1])
        finally:
            os._exit(0)
    for fd in fds:
        os.close(fd)
    return bool(message)


def _fork_population_worker() -> tuple[int, int, int]:
    """Fork the worker that runs demo populations one after another
    (`vm_agent.population_worker`, DESIGN decision 41); returns its pid, the write end of its
    requests' pipe and the read end of its answers'. Reaped by `_reap`; killed if this process
    dies."""
    requests_read, requests_write = os.pipe()
    answers_read, answers_write = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:
        try:
            _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # it ends with the warm parent
            if os.getppid() != parent:  # which died before that
                os._exit(1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            _keep_only([requests_read, answers_write])
            _name_process("pdc-population")
            population_worker.serve(requests_read, answers_write)
        finally:
            os._exit(0)
    os.close(requests_read)
    os.close(answers_write)
    return pid, requests_write, answers_read


def _keep_only(fds: list[int]) -> None:
    """In a helper: close every descriptor but its two pipes and stderr. It must not hold the
    controller's pipe (a `down` would wait for it) nor other schools' sockets (a school whose
    warm parent is gone would wait for an answer instead of seeing its socket closed)."""
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    _close_all_but(fds)


def _close_all_but(kept: list[int]) -> None:
    """Close every descriptor above stderr (2) except `kept`."""
    ordered = sorted(kept)
    for low, high in zip([2, *ordered], [*ordered, 65536], strict=True):
        os.closerange(low + 1, high)


def _answer(request_id: object, readiness: bytes) -> dict[str, object]:
    line = readiness.decode(errors="replace").strip()
    if line == "ready":
        return {"id": request_id, "ok": True}
    if line.startswith("error "):
        return {"id": request_id, "ok": False, "error": line.removeprefix("error ")}
    return {"id": request_id, "ok": False, "error": "the school server exited before it was ready"}


def _reap(_signum: int, _frame: object) -> None:
    """SIGCHLD: wait for every child that exited (a school, a helper)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _warm_grpc() -> None:
    """gRPC's one-time initialisation done here, shared by every school (~0.8 MiB each,
    DESIGN decision 37). If it fails or leaves gRPC's threads running, forking is unsafe from
    this process: it says why and starts again without it (same pipes, same controller)."""
    try:
        warm_grpc.warm()
    except Exception as error:  # whatever gRPC raised: the fallback is the same
        why = (str(error).strip().splitlines() or [type(error).__name__])[0]
        print(
            f"warm parent: gRPC not warmed ({why}); restarting without the warm-up, each "
            "school then initialises gRPC itself (~0.8 MiB more per school)",
            file=sys.stderr,
            flush=True,
        )
        os.execv(sys.executable, [sys.executable, "-m", "vm_agent.zygote", WITHOUT_GRPC_WARM_UP])


def main() -> int:
    signal.signal(signal.SIGCHLD, _reap)
    # Inherited by every school: one asked to mark its pages before it listens (or that never
    # does, its merging off) ignores the request instead of ending (DESIGN decision 40).
    signal.signal(MARK_PAGES_SIGNAL, signal.SIG_IGN)
    warm_demo.warm()  # a demo school's code, specialized here once rather than in each
    configure_logging()  # the schools' handler, built once here (their stderr is their log)
    # What every school would otherwise import itself (`sys.modules` after a school's start
    # and its first RPCs, scrape and page, beside this process's): an import in a school
    # costs it ~0.5 MiB of private pages (DESIGN decision 32). The pid file is read as ASCII.
    codecs.lookup("ascii")
    if WITHOUT_GRPC_WARM_UP not in sys.argv:
        _warm_grpc()
    # The first school's servicers and method tables, made here for every fork to share
    # (DESIGN decision 42): each school binds them to itself instead of building its own.
    vm_agent.server.prepare_services()
    # The warm objects go to the permanent generation: a school's garbage collections then
    # never write to them, so their pages stay shared instead of being copied per school.
    gc.freeze()
    print(json.dumps({"id": 0, "ok": True}), flush=True)  # warm and listening
    selector = selectors.DefaultSelector()
    stdin_fd = sys.stdin.fileno()
    selector.register(stdin_fd, selectors.EVENT_READ, None)
    requests = b""
    pending: dict[int, tuple[object, bytes]] = {}
    # request id -> (pid, readiness fd) of a school not answered yet
    starting: dict[object, tuple[int, int]] = {}
    populations = population_worker.Populations(selector, _fork_population_worker)
    while True:
        for key, _ in selector.select(populations.timeout()):
            if key.data is None:
                chunk = os.read(stdin_fd, 65536)
                if not chunk:
                    return 0  # the controller went away; the schools live on
                requests += chunk
                *lines, requests = requests.split(b"\n")
                for line in lines:
                    request = json.loads(line)
                    if request.get("cancel"):
                        if populations.cancel(request["id"]):
                            continue
                        if request["id"] in starting:
                            pid, read_fd = starting.pop(request["id"])
                            with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
                                os.kill(pid, signal.SIGKILL)
                            selector.unregister(read_fd)
                            os.close(read_fd)
                            del pending[read_fd]
                        continue
                    if "populate" in request:
                        populations.submit(request["id"], request)
                        continue
                    pid, read_fd, helper_socket = _spawn(request)
                    starting[request["id"]] = (pid, read_fd)
                    pending[read_fd] = (request["id"], b"")
                    selector.register(read_fd, selectors.EVENT_READ, "ready")
                    if helper_socket is not None:
                        selector.register(helper_socket, selectors.EVENT_READ, helper_socket)
                continue
            if selector.get_map().get(key.fd) is not key:
                continue  # a cancel earlier in this batch closed it (its fd may be reused)
            if key.data is populations:
                for answer in populations.read():
                    print(json.dumps(answer), flush=True)
                continue
            if isinstance(key.data, socket.socket):
                if not _fork_helper(key.data):
                    selector.unregister(key.data)
                    key.data.close()
                continue
            read_fd = key.fd
            chunk = os.read(read_fd, 65536)
            request_id, buffered = pending[read_fd]
            buffered += chunk
            if chunk and b"\n" not in buffered:
                pending[read_fd] = (request_id, buffered)
                continue
            selector.unregister(read_fd)
            os.close(read_fd)
            del pending[read_fd]
            starting.pop(request_id, None)
            print(json.dumps(_answer(request_id, buffered)), flush=True)
        populations.tick()


if __name__ == "__main__":
    sys.exit(main())
