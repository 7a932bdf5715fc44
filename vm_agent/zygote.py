"""The warm parent of the local runtime (DESIGN decision 4).

It imports everything a school server needs but creates no gRPC object, then forks one school
per request: a fork costs ~5 ms and ~4 MiB where a fresh interpreter costs ~0.12 s and ~15 MiB.
Each school is forked into its own session, so it outlives this process and the controller
(which finds it again through its pid file); SIGCHLD is ignored, so the kernel reaps them.

Protocol on stdin/stdout, one JSON object per line:
  -> {"id": 1, "config": "/…/agent.json", "pid_file": "/…/agent.pid", "log": "/…/agent.log"}
  <- {"id": 1, "ok": true, "pid": 4242}   or   {"id": 1, "ok": false, "error": "…"}
"""

from __future__ import annotations

import codecs
import ctypes
import gc
import json
import os
import selectors
import signal
import sys
from pathlib import Path

import vm_agent.server  # noqa: F401  (warm import: grpc, protos and the domain)
from vm_agent.__main__ import configure_logging, run

PR_SET_NAME = 15
# Looked up here, once: a ctypes library and function made in a school cost it ~0.2 MiB.
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl


def _spawn(request: dict[str, str]) -> int:
    """Fork a school server in its own session; returns the read end of its readiness pipe."""
    read_fd, write_fd = os.pipe()
    if os.fork() == 0:
        try:
            os.setsid()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            _become_school(request, write_fd)
        finally:
            os._exit(1)
    os.close(write_fd)
    return read_fd


def _become_school(request: dict[str, str], ready_fd: int) -> None:
    _name_process(f"pdc-{Path(request['config']).parent.name}")
    log_fd = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    null_fd = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null_fd, 0)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.closerange(3, ready_fd)
    os.closerange(ready_fd + 1, 65536)
    code = run(Path(request["config"]), Path(request["pid_file"]), ready_fd)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _name_process(name: str) -> None:
    """Show the school in ps/top (the kernel keeps 15 bytes); forks share the parent's argv."""
    _PRCTL(PR_SET_NAME, name.encode()[:15], 0, 0, 0)


def _answer(request_id: object, readiness: bytes) -> dict[str, object]:
    line = readiness.decode(errors="replace").strip()
    if line == "ready":
        return {"id": request_id, "ok": True}
    if line.startswith("error "):
        return {"id": request_id, "ok": False, "error": line.removeprefix("error ")}
    return {"id": request_id, "ok": False, "error": "the school server exited before it was ready"}


def main() -> int:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    configure_logging()  # the schools' handler, built once here (their stderr is their log)
    # What every school would otherwise import itself (`sys.modules` after a school's start
    # and its first RPCs, scrape and page, beside this process's): an import in a school
    # costs it ~0.5 MiB of private pages (DESIGN decision 32). The pid file is read as ASCII.
    codecs.lookup("ascii")
    # The warm objects go to the permanent generation: a school's garbage collections then
    # never write to them, so their pages stay shared instead of being copied per school.
    gc.freeze()
    print(json.dumps({"id": 0, "ok": True}), flush=True)  # warm and listening
    selector = selectors.DefaultSelector()
    stdin_fd = sys.stdin.fileno()
    selector.register(stdin_fd, selectors.EVENT_READ, None)
    requests = b""
    pending: dict[int, tuple[object, bytes]] = {}
    while True:
        for key, _ in selector.select():
            if key.data is None:
                chunk = os.read(stdin_fd, 65536)
                if not chunk:
                    return 0  # the controller went away; the schools live on
                requests += chunk
                *lines, requests = requests.split(b"\n")
                for line in lines:
                    request = json.loads(line)
                    read_fd = _spawn(request)
                    pending[read_fd] = (request["id"], b"")
                    selector.register(read_fd, selectors.EVENT_READ, "ready")
                continue
            read_fd = key.fd
            chunk = os.read(read_fd, 4096)
            request_id, buffered = pending[read_fd]
            buffered += chunk
            if chunk and b"\n" not in buffered:
                pending[read_fd] = (request_id, buffered)
                continue
            selector.unregister(read_fd)
            os.close(read_fd)
            del pending[read_fd]
            print(json.dumps(_answer(request_id, buffered)), flush=True)


if __name__ == "__main__":
    sys.exit(main())
