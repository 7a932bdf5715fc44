"""The agent's configuration file: the contract between the controller, which writes it when it
provisions a school, and the school's agent, which reads it at start."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from common.files import write_json_atomically

CLIENT_PORT = 49300
AGENT_PORT = 49301
METRICS_PORT = 49380
PRONOTE_NET_PORT = 8080


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class AgentConfig:
    uai: str
    """The school's UAI (RNE)."""
    school_name: str
    address: str
    """The school's own address; both ports bind to it and nothing else."""
    data_dir: Path
    """Where the school's state lives (a directory, or a volume in a container)."""
    agent_secret_hash: str
    """Hash of the per-school secret the controller presents on the management port."""
    client_port: int = CLIENT_PORT
    """Client PRONOTE protocol port (49300 on the real service)."""
    agent_port: int = AGENT_PORT
    """Management port, called by the controller only."""
    administratif_licences: int = 4
    """"Administrateurs et modifiants": simultaneous licences en modification."""
    enseignant_capacity: int | None = None
    """Distinct teachers allowed at once by the formula; None for the unlimited formula."""
    idle_timeout_seconds: float = 600.0
    """A Client PRONOTE session with no call for this long is closed."""
    maxretry: int = 5
    """Failed logins from one IP within `findtime_seconds` that suspend it."""
    findtime_seconds: float = 600.0
    bantime_seconds: float = 600.0
    """How long a suspended IP stays suspended."""
    pronote_version: str = "2026"
    metrics_port: int = METRICS_PORT
    """HTTP port of the school's `/metrics` (Prometheus), on the school's own address."""
    pronote_net_port: int = PRONOTE_NET_PORT
    """HTTP port of PRONOTE.net (the espaces under /pronote/), on the school's own address."""
    backup_dir: Path | None = None
    """Where its backups and archives go, outside `data_dir` (a separate volume in a
    container); None: `<data_dir>/../backups`."""

    merge_pages: bool = False
    """Mark the school's own pages for the kernel's same-page merging once it is ready
    (`vm_agent.page_merging`, DESIGN decision 35): set on `local://` when passes run."""

    clock_seconds: float | None = None
    """The data-center's simulated time when this file was written (None: real time), so the
    school dates nothing on real time before the controller's first push (issue 12, point 3)."""
    clock_written_at: float = 0.0
    """Real Unix seconds when `clock_seconds` was read: the school adds the time since."""
    clock_speed: float = 1.0
    """How fast the simulated clock runs (0: frozen)."""

    @property
    def backups(self) -> Path:
        return self.backup_dir or self.data_dir.parent / "backups"


def load_config(path: Path) -> AgentConfig:
    try:
        raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no agent configuration at {path}; give --config a valid file") from None
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path} is not valid JSON ({error}); re-provision the school") from None
    if "teacher_capacity" in raw:  # its name before issue 11 (one word per concept)
        raw["enseignant_capacity"] = raw.pop("teacher_capacity")
    try:
        backup_dir = raw.get("backup_dir")
        return AgentConfig(
            **{
                **raw,
                "data_dir": Path(raw["data_dir"]),
                "backup_dir": Path(backup_dir) if backup_dir else None,
            }
        )
    except (KeyError, TypeError) as error:
        raise ConfigError(f"{path} is not a valid agent configuration: {error}") from None


def save_config(path: Path, config: AgentConfig) -> None:
    data = asdict(config)
    data["data_dir"] = str(config.data_dir)
    data["backup_dir"] = str(config.backup_dir) if config.backup_dir else None
    write_json_atomically(path, data, mode=0o600)
