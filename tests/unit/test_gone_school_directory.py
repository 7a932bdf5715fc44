"""A school whose directory was removed while it started or was populated (a provisioning
undone meanwhile, e.g. by Ctrl-C during a wave) fails instead of making the directory again
(the review's finding: a pid file's temporary file or an empty data/ was left behind)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from common.agent_config import AgentConfig, save_config
from common.processes import PidFile
from tests.integration.harness import free_pool
from tests.unit.test_demo_population import ask, started_warm_parent
from tests.unit.test_demo_population import request as population_request
from vm_agent.demo_population import populate_saved
from vm_agent.store import StateStore


def gone_school(tmp_path: Path) -> tuple[Path, Path]:
    """A config whose school directory (`tmp_path/gone`) does not exist, on an address no
    other test uses (its ports are bound before its data directory is made); its path and
    that directory."""
    gone = tmp_path / "gone"
    config = tmp_path / "agent.json"
    network, last = free_pool(first_octets="127.174").split("/")[0].rsplit(".", 1)
    address = f"{network}.{int(last) + 1}"  # the block's first address, checked free
    save_config(config, AgentConfig("0750655E", "Lycée Test", address, gone / "data", "x"))
    return config, gone


def test_its_pid_file_and_state_are_not_written_into_a_directory_made_again(
    tmp_path: Path,
) -> None:
    gone = tmp_path / "gone"
    with pytest.raises(FileNotFoundError):
        PidFile.write_for_self(gone / "agent.pid", "0750655E")
    with pytest.raises(FileNotFoundError):
        StateStore(gone / "data").save({"bases": []})
    assert not gone.exists()


def test_its_population_fails_and_makes_nothing(tmp_path: Path) -> None:
    config, gone = gone_school(tmp_path)
    with pytest.raises(FileNotFoundError):
        populate_saved(config, base64.b64decode(population_request()))
    assert not gone.exists()


def test_its_start_is_answered_with_the_reason_and_makes_nothing(tmp_path: Path) -> None:
    config, gone = gone_school(tmp_path)
    start = {
        "id": 1,
        "config": str(config),
        "pid_file": str(gone / "agent.pid"),
        "log": str(tmp_path / "agent.log"),
    }
    with started_warm_parent() as parent:
        answer = ask(parent, start)
    assert answer["id"] == 1 and not answer["ok"]
    assert "No such file or directory" in answer["error"], answer
    assert not gone.exists()
