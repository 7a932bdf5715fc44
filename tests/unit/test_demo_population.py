"""A demo school populated before it starts, through a real warm parent's JSON protocol
(DESIGN decision 38): the saved state and the agent's reply, and clear refusals."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from common.agent_config import AgentConfig, save_config
from protos import agent_pb2
from vm_agent.store import StateStore

YEAR = "2026-2027"


@contextlib.contextmanager
def started_warm_parent() -> Iterator[subprocess.Popen[str]]:
    """A real warm parent (`python -m vm_agent.zygote`), warm and listening on its pipes; at
    the end continued (if a test stopped it) and told to end by its stdin closing."""
    parent = subprocess.Popen(
        [sys.executable, "-m", "vm_agent.zygote"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdin is not None and parent.stdout is not None
    try:
        assert json.loads(parent.stdout.readline()) == {"id": 0, "ok": True}
        yield parent
    finally:
        os.kill(parent.pid, signal.SIGCONT)
        parent.stdin.close()
        parent.wait(timeout=30)


@pytest.fixture(scope="module")
def warm_parent() -> Iterator[subprocess.Popen[str]]:
    with started_warm_parent() as parent:
        yield parent


def ask(
    parent: subprocess.Popen[str], request: dict[str, Any], skip_earlier: bool = False
) -> dict[str, Any]:
    """Send `request`; its answer. `skip_earlier`: answers to earlier requests may come
    first and are skipped (else the next answer must be this request's)."""
    assert parent.stdin is not None and parent.stdout is not None
    parent.stdin.write(json.dumps(request) + "\n")
    parent.stdin.flush()
    while True:
        line = parent.stdout.readline()
        assert line, "the warm parent exited"
        answer: dict[str, Any] = json.loads(line)
        if answer["id"] == request["id"]:
            return answer
        assert skip_earlier, f"an answer to {answer['id']} where {request['id']}'s was due"


def school_config(tmp_path: Path) -> Path:
    path = tmp_path / "agent.json"
    data_dir = tmp_path / "data"
    save_config(path, AgentConfig("0750655E", "Lycée Test", "127.0.0.1", data_dir, "x"))
    return path


def request(**changes: Any) -> str:
    fields: dict[str, Any] = {
        "school_year": YEAR,
        "synthetic_seed": "0750655E",
        "spr_login": "spr",
        "spr_password": "drawn-spr",
        "passwords": {"professeur": "pw-prof", "responsable": "pw-parent"},
        "child_password": "pw-child",
    }
    message = agent_pb2.PopulateDemoRequest(**{**fields, **changes})
    return base64.b64encode(message.SerializeToString()).decode()


def test_the_state_is_saved_and_the_agents_reply_comes_back(
    warm_parent: subprocess.Popen[str], tmp_path: Path
) -> None:
    config = school_config(tmp_path)
    answer = ask(warm_parent, {"id": 1, "populate": str(config), "request": request()})
    assert answer["ok"], answer
    reply = agent_pb2.PopulateDemoReply.FromString(base64.b64decode(answer["reply"]))
    assert reply.base.in_service and reply.base.school_year == YEAR
    assert set(reply.logins) == {"professeur", "responsable", "eleve"}
    state = StateStore(tmp_path / "data").load()
    assert state is not None
    (base,) = state["bases"]
    assert state["in_service"] == base["id"] == reply.base.id
    assert reply.logins["professeur"] in base["users"] and "spr" in base["users"]


def test_a_missing_configuration_or_a_refusal_is_answered_and_nothing_is_saved(
    warm_parent: subprocess.Popen[str], tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere" / "agent.json"
    answer = ask(warm_parent, {"id": 2, "populate": str(missing), "request": request()})
    assert answer == {
        "id": 2,
        "ok": False,
        "error": f"its demo population failed: no agent configuration at {missing}; "
        "give --config a valid file",
    }
    config = school_config(tmp_path)
    wrong_kind = request(passwords={"directeur": "pw"})
    answer = ask(warm_parent, {"id": 3, "populate": str(config), "request": wrong_kind})
    assert not answer["ok"] and "kind 'directeur' does not exist" in answer["error"]
    answer = ask(warm_parent, {"id": 4, "populate": str(config), "request": "not base64!"})
    assert not answer["ok"] and answer["error"].startswith("its demo population failed")
    assert StateStore(tmp_path / "data").load() is None
    # The warm parent still serves after refusals
    answer = ask(warm_parent, {"id": 5, "populate": str(config), "request": request()})
    assert answer["ok"]


def children(pid: int) -> set[int]:
    """The pids of a process's children (the parent pid in /proc/*/stat: this kernel has no
    /proc/PID/task/TID/children)."""
    found: set[int] = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def the_worker(parent: subprocess.Popen[str]) -> int:
    """The warm parent's population worker (its only child here: no school is started)."""
    deadline = time.monotonic() + 10
    while len(found := children(parent.pid)) != 1:
        assert time.monotonic() < deadline, f"children {found} where one worker was due"
        time.sleep(0.005)
    return found.pop()


def written(pid: int) -> int:
    """Bytes the process has written so far (/proc/PID/io wchar)."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise AssertionError(f"no wchar in /proc/{pid}/io")


def wait_until(condition: Any, what: str, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {seconds:.0f} s"
        time.sleep(0.005)


def population(request_id: int, tmp_path: Path) -> tuple[dict[str, Any], Path]:
    """A population request for a new school under `tmp_path`, and the school's config."""
    config = school_config(tmp_path / str(request_id))
    return {"id": request_id, "populate": str(config), "request": request()}, config


def send(parent: subprocess.Popen[str], line: dict[str, Any]) -> None:
    assert parent.stdin is not None
    parent.stdin.write(json.dumps(line) + "\n")
    parent.stdin.flush()


def populate(
    parent: subprocess.Popen[str], request_id: int, tmp_path: Path
) -> tuple[dict[str, Any], Path]:
    """Send a population of a new school under `tmp_path`; the request and its config."""
    line, config = population(request_id, tmp_path)
    send(parent, line)
    return line, config


def start_worker(parent: subprocess.Popen[str], tmp_path: Path, stopped: bool = False) -> int:
    """A population answered (id 1000 + n): the worker that ran it, idle for 1 s (`stopped`:
    SIGSTOPped, so that the next request waits in it and those after it in the queue)."""
    line, _ = population(1000 + len(list(tmp_path.glob("1???"))), tmp_path)
    assert ask(parent, line, skip_earlier=True)["ok"]
    worker = the_worker(parent)
    if stopped:
        os.kill(worker, signal.SIGSTOP)
    return worker


@pytest.fixture
def own_warm_parent() -> Iterator[subprocess.Popen[str]]:
    """A warm parent of the test's own (stopped and continued, its worker killed)."""
    with started_warm_parent() as parent:
        yield parent


@pytest.mark.parametrize("cancel_first", [True, False], ids=["cancel-first", "answer-first"])
def test_a_cancel_read_with_the_answer_it_cancels_leaves_the_warm_parent_serving(
    own_warm_parent: subprocess.Popen[str], tmp_path: Path, cancel_first: bool
) -> None:
    """The warm parent, stopped while the worker answers, then continued: one select returns
    the cancel and the answer, in the order they came (the review's repro). Cancel first: the
    worker is killed and its pipes closed, a new one forked for the request queued behind it
    (its pipes may take the same numbers), and the stale answer's key is skipped; answer first:
    it is answered and the cancel comes too late to matter."""
    parent = own_warm_parent
    assert parent.stdout is not None
    worker = start_worker(parent, tmp_path, stopped=True)
    try:
        before = written(parent.pid)
        line, config = populate(parent, 1, tmp_path)
        given = {"populate": line["populate"], "request": line["request"]}  # to the worker
        wait_until(lambda: written(parent.pid) > before + len(json.dumps(given)), "given")
        os.kill(parent.pid, signal.SIGSTOP)
    finally:
        os.kill(worker, signal.SIGCONT)
    try:
        if cancel_first:
            populate(parent, 2, tmp_path)  # queued behind it
            send(parent, {"id": 1, "cancel": True})
        wait_until(lambda: StateStore(config.parent / "data").load(), "saved")
        time.sleep(0.2)  # and answers into its pipe
        if not cancel_first:
            populate(parent, 2, tmp_path)
            send(parent, {"id": 1, "cancel": True})
    finally:
        os.kill(parent.pid, signal.SIGCONT)
    answers = [json.loads(parent.stdout.readline())]
    if not cancel_first:
        answers.append(json.loads(parent.stdout.readline()))
    assert [a["id"] for a in answers] == ([2] if cancel_first else [1, 2])
    assert all(a["ok"] for a in answers), answers
    assert Path(f"/proc/{worker}").exists() is not cancel_first  # killed by the cancel
    last, _ = population(9, tmp_path)
    assert ask(parent, last)["ok"]  # still serving


def test_populations_run_in_one_worker_in_order_and_it_ends_once_idle(
    warm_parent: subprocess.Popen[str], tmp_path: Path
) -> None:
    """DESIGN decision 41: twelve populations asked at once are all answered, each school
    with its own state, by one worker forked for them, which ends once idle."""
    assert warm_parent.stdout is not None
    configs = {i: populate(warm_parent, i, tmp_path)[1] for i in range(20, 32)}
    workers = {the_worker(warm_parent)}
    answers = {}
    for _ in configs:
        answer = json.loads(warm_parent.stdout.readline())
        answers[answer["id"]] = answer
        workers |= children(warm_parent.pid)
    assert sorted(answers) == sorted(configs) and all(a["ok"] for a in answers.values())
    assert len(workers) == 1  # one fork for the twelve
    for i, config in configs.items():
        reply = agent_pb2.PopulateDemoReply.FromString(base64.b64decode(answers[i]["reply"]))
        state = StateStore(config.parent / "data").load()
        assert state is not None and state["in_service"] == reply.base.id
    wait_until(lambda: not children(warm_parent.pid), "the idle worker ended", seconds=5)


def test_a_cancelled_population_is_dropped_or_ends_its_worker_and_the_others_go_on(
    own_warm_parent: subprocess.Popen[str], tmp_path: Path
) -> None:
    parent = own_warm_parent
    assert parent.stdout is not None
    worker = start_worker(parent, tmp_path, stopped=True)
    _, running_config = populate(parent, 2, tmp_path)  # held by the worker, stopped
    _, dropped_config = populate(parent, 3, tmp_path)
    _, kept_config = populate(parent, 4, tmp_path)
    for cancelled in (3, 2):  # one waiting, then the one its worker holds
        send(parent, {"id": cancelled, "cancel": True})
    answer = json.loads(parent.stdout.readline())
    assert answer["id"] == 4 and answer["ok"], answer  # by a new worker
    wait_until(lambda: not Path(f"/proc/{worker}").exists(), "the stopped worker killed")
    assert StateStore(kept_config.parent / "data").load() is not None
    assert StateStore(running_config.parent / "data").load() is None  # killed before it saved
    assert StateStore(dropped_config.parent / "data").load() is None  # never begun


def test_a_worker_that_dies_fails_its_population_only(
    own_warm_parent: subprocess.Popen[str], tmp_path: Path
) -> None:
    parent = own_warm_parent
    assert parent.stdout is not None
    worker = start_worker(parent, tmp_path, stopped=True)
    populate(parent, 2, tmp_path)
    _, next_config = populate(parent, 3, tmp_path)
    os.kill(worker, signal.SIGKILL)  # e.g. the kernel's out-of-memory killer
    answers = [json.loads(parent.stdout.readline()) for _ in range(2)]
    assert answers == [
        {"id": 2, "ok": False, "error": "its demo population's worker process died"},
        {"id": 3, "ok": True, "reply": answers[1].get("reply")},
    ]
    assert StateStore(next_config.parent / "data").load() is not None
