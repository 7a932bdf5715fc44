"""A demo school populated before it starts, through a real warm parent's JSON protocol
(DESIGN decision 38): the saved state and the agent's reply, and clear refusals."""

from __future__ import annotations

import base64
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


@pytest.fixture(scope="module")
def warm_parent() -> Iterator[subprocess.Popen[str]]:
    parent = subprocess.Popen(
        [sys.executable, "-m", "vm_agent.zygote"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None and parent.stdin is not None
    assert json.loads(parent.stdout.readline()) == {"id": 0, "ok": True}
    yield parent
    parent.stdin.close()
    parent.wait(timeout=30)


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


def test_a_cancel_read_with_the_answer_it_cancels_leaves_the_warm_parent_serving(
    tmp_path: Path,
) -> None:
    """The warm parent, stopped while the helper answers, then given the cancel: one select
    returns both; the answer's pipe, closed by the cancel, is skipped (the review's repro)."""
    parent = subprocess.Popen(
        [sys.executable, "-m", "vm_agent.zygote"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdin is not None and parent.stdout is not None
    try:
        assert json.loads(parent.stdout.readline()) == {"id": 0, "ok": True}
        seen = children(parent.pid)  # none, unless the warm parent forks one of its own
        for attempt in range(1, 6):
            config = school_config(tmp_path / str(attempt))
            populate = {"id": attempt, "populate": str(config), "request": request()}
            parent.stdin.write(json.dumps(populate) + "\n")
            parent.stdin.flush()
            deadline = time.monotonic() + 10
            while not (helpers := children(parent.pid) - seen):  # it forks the helper
                assert time.monotonic() < deadline, "no helper forked within 10 s"
                time.sleep(0.001)
            seen |= helpers
            os.kill(parent.pid, signal.SIGSTOP)
            try:
                deadline = time.monotonic() + 10
                while StateStore(config.parent / "data").load() is None:  # the helper works
                    assert time.monotonic() < deadline
                    time.sleep(0.01)
                time.sleep(0.2)  # and answers into its pipe
                parent.stdin.write(json.dumps({"id": attempt, "cancel": True}) + "\n")
                parent.stdin.flush()
            finally:
                os.kill(parent.pid, signal.SIGCONT)
        # Still serving: the next request is answered (the cancelled ones may or may not
        # have been, by the order of the keys in the batch).
        last = {"id": 9, "populate": str(school_config(tmp_path / "9")), "request": request()}
        assert ask(parent, last, skip_earlier=True)["ok"]
    finally:
        parent.stdin.close()
        parent.wait(timeout=30)
