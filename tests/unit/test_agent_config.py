"""The agent's configuration file (agent.json): what the controller writes, the agent reads."""

from __future__ import annotations

import json
from pathlib import Path

from common.agent_config import AgentConfig, load_config, save_config


def config(tmp_path: Path) -> AgentConfig:
    return AgentConfig(
        uai="0750655E",
        school_name="Lycée Louis-le-Grand",
        address="127.81.0.1",
        data_dir=tmp_path / "data",
        agent_secret_hash="sha256$x$y",
        enseignant_capacity=80,
        backup_dir=tmp_path / "backups",
    )


def test_what_is_saved_is_read_back(tmp_path: Path) -> None:
    save_config(tmp_path / "agent.json", config(tmp_path))
    assert load_config(tmp_path / "agent.json") == config(tmp_path)


def test_a_file_written_before_the_rename_is_still_read(tmp_path: Path) -> None:
    """A school provisioned by an older controller keeps its formula when it restarts."""
    save_config(tmp_path / "agent.json", config(tmp_path))
    raw = json.loads((tmp_path / "agent.json").read_text())
    raw["teacher_capacity"] = raw.pop("enseignant_capacity")
    (tmp_path / "agent.json").write_text(json.dumps(raw))
    assert load_config(tmp_path / "agent.json").enseignant_capacity == 80
