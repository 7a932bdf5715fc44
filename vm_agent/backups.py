"""The school's backups and archives: files in a backup directory outside its data directory
(a separate volume in a container), each with a `<name>.json` sidecar holding its SHA-256,
its kind and when it was made. `sha256sum`-compatible content: the checksum covers the whole
backup file, and is verified before any restore."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common import backup_plan
from common.backup_plan import Due, Entry, Kind
from vm_agent.domain.errors import AgentError, InvalidArgument, NotFound

BACKUP_FORMAT = 1
SIDECAR = ".json"


class Corrupt(AgentError):
    """A backup whose content does not match its checksum (truncated, altered, unreadable)."""


@dataclass(frozen=True)
class Backup:
    name: str
    kind: Kind
    made_at_seconds: float
    size: int
    sha256: str


@dataclass(frozen=True)
class Made:
    due: int
    """Backups due in the period (pruned ones included: the base did not change meanwhile)."""
    written: int
    deleted: int


class BackupStore:
    def __init__(self, directory: Path, uai: str) -> None:
        self.directory = directory
        self._uai = uai
        self.last_success: dict[Kind, float] = {}
        self.last_verification_ok: bool | None = None
        for backup in self.listing():
            kind = Kind.ARCHIVE if backup.kind is Kind.YEAR_END else backup.kind
            self.last_success[kind] = max(self.last_success.get(kind, 0.0), backup.made_at_seconds)

    def listing(self) -> list[Backup]:
        """Every backup with a readable sidecar, newest first."""
        found = []
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return []
        for name in names:
            if not backup_plan.is_safe_name(name):
                continue
            try:
                meta = json.loads((self.directory / (name + SIDECAR)).read_text(encoding="utf-8"))
                found.append(
                    Backup(
                        name,
                        Kind(meta["kind"]),
                        float(meta["made_at_seconds"]),
                        int(meta["size"]),
                        str(meta["sha256"]),
                    )
                )
            except (OSError, ValueError, KeyError, TypeError):
                continue  # a file without a valid sidecar is not a backup we made
        return sorted(found, key=lambda b: (b.made_at_seconds, b.name), reverse=True)

    def make(self, due: list[Due], school_year: str, state: dict[str, Any]) -> Made:
        """Make the backups `due` of `state` and prune by the retention rules. A backup that
        the rules would prune before the end of the period is not written: the base does not
        change while the simulated clock jumps, so it would be the same bytes, deleted."""
        existing = self.listing()
        planned = {
            backup_plan.name_for(d.kind, school_year, d.at_seconds): d for d in due
        }  # a later slot with the same name overwrites an earlier one
        entries = [Entry(b.name, b.kind, b.made_at_seconds) for b in existing] + [
            Entry(name, d.kind, d.at_seconds) for name, d in planned.items()
        ]
        kept = backup_plan.retained(entries)
        payload = json.dumps(
            {"format": BACKUP_FORMAT, "uai": self._uai, "state": state},
            sort_keys=True,
            ensure_ascii=False,
        ).encode("utf-8")
        digest = hashlib.sha256(payload).hexdigest()
        files: dict[str, bytes] = {}
        for name, d in sorted(planned.items(), key=lambda item: item[1].at_seconds):
            if name in kept:
                files[name] = payload
                files[name + SIDECAR] = json.dumps(
                    {
                        "kind": d.kind.value,
                        "made_at_seconds": d.at_seconds,
                        "size": len(payload),
                        "sha256": digest,
                    }
                ).encode("utf-8")
        _write_all_atomically(self.directory, files)
        written = len(files) // 2
        deleted = 0
        for backup in existing:
            if backup.name not in kept and backup.name not in planned:
                (self.directory / backup.name).unlink(missing_ok=True)
                (self.directory / (backup.name + SIDECAR)).unlink(missing_ok=True)
                deleted += 1
        for d in due:
            kind = Kind.ARCHIVE if d.kind is Kind.YEAR_END else d.kind
            self.last_success[kind] = max(self.last_success.get(kind, 0.0), d.at_seconds)
        if written:
            newest = max((n for n in planned if n in kept), key=lambda n: planned[n].at_seconds)
            self._check(newest)
        return Made(len(due), written, deleted)

    def read_verified(self, name: str) -> tuple[Backup, bytes]:
        """The backup's bytes, after checking them against the SHA-256 recorded when made."""
        backup = self._find(name)
        try:
            data = (self.directory / name).read_bytes()
        except OSError as error:
            self.last_verification_ok = False
            raise Corrupt(f"backup {name!r} cannot be read ({error}); pick another one") from None
        actual = hashlib.sha256(data).hexdigest()
        if actual != backup.sha256 or len(data) != backup.size:
            self.last_verification_ok = False
            raise Corrupt(
                f"backup {name!r} is corrupt: its SHA-256 is {actual[:12]}…, it was "
                f"{backup.sha256[:12]}… when made ({len(data)} of {backup.size} bytes); "
                "nothing was changed, pick another backup or archive"
            )
        self.last_verification_ok = True
        return backup, data

    def load_state(self, name: str) -> dict[str, Any]:
        _, data = self.read_verified(name)
        try:
            content = json.loads(data)
            if content.get("format") != BACKUP_FORMAT or content.get("uai") != self._uai:
                raise ValueError("another format or another school")
            state = content["state"]
            if not isinstance(state, dict):
                raise ValueError("no state")
            return state
        except (ValueError, KeyError, AttributeError) as error:
            raise Corrupt(
                f"backup {name!r} is not a backup of school {self._uai} ({error}); nothing "
                "was changed"
            ) from None

    def _find(self, name: str) -> Backup:
        if not backup_plan.is_safe_name(name):
            raise InvalidArgument(
                f"{name!r} is not a backup name (a plain *.sauvs or *.archs name); list them "
                "with `pronote-dc console backups`"
            )
        for backup in self.listing():
            if backup.name == name:
                return backup
        raise NotFound(f"no backup or archive named {name!r}; list them with `console backups`")

    def _check(self, name: str) -> None:
        with contextlib.suppress(AgentError):  # recorded in last_verification_ok (metrics)
            self.read_verified(name)


def _write_all_atomically(directory: Path, files: dict[str, bytes]) -> None:
    """Write every file to a temporary name, make them all durable with one filesystem sync
    (one `syncfs` instead of an fsync per file: a year of backups is thousands of files), then
    rename each into place: a crash leaves whole old files or whole new ones, never half."""
    if not files:
        return
    directory.mkdir(parents=True, exist_ok=True)
    temporary: list[tuple[str, Path]] = []
    try:
        for name, data in files.items():
            fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", dir=directory)
            temporary.append((tmp_name, directory / name))
            with os.fdopen(fd, "wb") as tmp:
                tmp.write(data)
            os.chmod(tmp_name, 0o600)
        sync_filesystem(directory)
        for tmp_name, path in temporary:
            os.replace(tmp_name, path)
    except BaseException:
        for tmp_name, _ in temporary:
            Path(tmp_name).unlink(missing_ok=True)
        raise
    # No second sync for the renames: a crash may lose the newest batch, never leave half of it.


_LIBC = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


def sync_filesystem(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        if _LIBC.syncfs(fd) != 0:  # Linux; elsewhere the whole system is synced
            os.sync()
    except AttributeError:
        os.sync()
    finally:
        os.close(fd)
