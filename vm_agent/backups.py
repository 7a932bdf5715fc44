"""The school's backups and archives: files in a backup directory outside its data directory
(a separate volume in a container), listed with their SHA-256, kind and time in `index.json`
(older stores kept a `<name>.json` sidecar per backup: still read). `sha256sum`-compatible
content: the checksum covers the whole backup file, and is verified before any restore.

Writes are cheap because most cost nothing: a backup the retention rules would prune before
the end of the period is not written; a backup whose name already holds exactly its bytes
(a sauvegarde of the same slot, the base unchanged since yesterday) is not rewritten, only
re-dated in the index; a new one whose bytes another file holds (today's archive of an
unchanged base) is a hard link to it, as a deduplicating store shares chunks: damaging one
damages both, and the SHA-256 check refuses both. Only a file this process wrote and that is
unchanged since (same inode, size and mtime) counts as holding its bytes."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common import backup_plan
from common.backup_plan import Due, Entry, Kind
from common.files import temp_file
from vm_agent.domain.errors import AgentError, InvalidArgument, NotFound

BACKUP_FORMAT = 1
INDEX = "index.json"
INDEX_FORMAT = 1
SIDECAR = ".json"
SYNC_FILES_ONE_BY_ONE = 4  # beyond this, one syncfs of the filesystem is cheaper


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
    """Due backups the retention rules keep (made; the files whose bytes changed rewritten)."""
    deleted: int
    files_written: int = 0


class BackupStore:
    def __init__(self, directory: Path, uai: str) -> None:
        self.directory = directory
        self._uai = uai
        self.last_success: dict[Kind, float] = {}
        self.last_verification_ok: bool | None = None
        self._entries = {b.name: b for b in self._read_index()}
        self._written: dict[str, tuple[int, int, int]] = {}  # name -> (inode, size, mtime_ns)
        for backup in self._entries.values():
            kind = Kind.ARCHIVE if backup.kind is Kind.YEAR_END else backup.kind
            self.last_success[kind] = max(self.last_success.get(kind, 0.0), backup.made_at_seconds)

    def listing(self) -> list[Backup]:
        """Every backup, newest first."""
        return sorted(
            self._entries.values(), key=lambda b: (b.made_at_seconds, b.name), reverse=True
        )

    def _read_index(self) -> list[Backup]:
        try:
            data = json.loads((self.directory / INDEX).read_text(encoding="utf-8"))
            return [
                Backup(
                    name, Kind(m["kind"]), float(m["made_at_seconds"]), int(m["size"]), m["sha256"]
                )
                for name, m in data["backups"].items()
                if backup_plan.is_safe_name(name)
            ]
        except FileNotFoundError:
            return self._read_sidecars()
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return self._read_sidecars()  # a damaged index: the sidecars of older stores, if any

    def _read_sidecars(self) -> list[Backup]:
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
        return found

    def _holds(self, backup: Backup | None, size: int, digest: str) -> bool:
        """True when the file of `backup` already holds these bytes, as this process wrote it."""
        if backup is None or backup.sha256 != digest or backup.size != size:
            return False
        try:
            stat = os.stat(self.directory / backup.name)
        except OSError:
            return False
        return self._written.get(backup.name) == (stat.st_ino, stat.st_size, stat.st_mtime_ns)

    def make(self, due: list[Due], school_year: str, state: dict[str, Any]) -> Made:
        """Make the backups `due` of `state` and prune by the retention rules."""
        existing = dict(self._entries)
        planned = {
            backup_plan.name_for(d.kind, school_year, d.at_seconds): d for d in due
        }  # a later slot with the same name overwrites an earlier one
        entries = [Entry(b.name, b.kind, b.made_at_seconds) for b in existing.values()] + [
            Entry(name, d.kind, d.at_seconds) for name, d in planned.items()
        ]
        kept = backup_plan.retained(entries)
        payload = json.dumps(
            {"format": BACKUP_FORMAT, "uai": self._uai, "state": state},
            sort_keys=True,
            ensure_ascii=False,
        ).encode("utf-8")
        digest = hashlib.sha256(payload).hexdigest()
        after = {name: b for name, b in existing.items() if name in kept and name not in planned}
        files: dict[str, bytes] = {}
        links: dict[str, str] = {}
        same = next((b.name for b in existing.values() if self._holds(b, len(payload), digest)), "")
        made = 0
        for name, d in planned.items():
            if name not in kept:
                continue
            made += 1
            if self._holds(existing.get(name), len(payload), digest):
                pass  # already these bytes: re-dated only
            elif same and name not in existing:
                links[name] = same  # a new name for bytes already on disk and synced
            else:
                files[name] = payload
            after[name] = Backup(name, d.kind, d.at_seconds, len(payload), digest)
        if planned.keys() & kept or after.keys() != existing.keys():
            self._written.update(
                _write_all_atomically(self.directory, files, (INDEX, _index_bytes(after)), links)
            )
            self._entries = after
        deleted = 0
        for name in existing.keys() - after.keys():
            (self.directory / name).unlink(missing_ok=True)
            (self.directory / (name + SIDECAR)).unlink(missing_ok=True)  # older stores
            self._written.pop(name, None)
            deleted += 1
        for d in due:
            kind = Kind.ARCHIVE if d.kind is Kind.YEAR_END else d.kind
            self.last_success[kind] = max(self.last_success.get(kind, 0.0), d.at_seconds)
        if files:
            newest = max(files, key=lambda n: planned[n].at_seconds)
            self._check(newest)
        return Made(len(due), made, deleted, len(files))

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

    def adopt(self, backup: Backup, data: bytes) -> dict[str, Any]:
        """Take a backup made elsewhere (this school's, on the host it was lost with), after
        checking `data` against its SHA-256 and size; returns its state. Raises Corrupt (nothing
        written) or InvalidArgument (not a backup name)."""
        if not backup_plan.is_safe_name(backup.name):
            raise InvalidArgument(f"{backup.name!r} is not a backup name (a plain *.sauvs name)")
        actual = hashlib.sha256(data).hexdigest()
        if actual != backup.sha256 or len(data) != backup.size:
            raise Corrupt(
                f"backup {backup.name!r} arrived damaged: its SHA-256 is {actual[:12]}…, it was "
                f"{backup.sha256[:12]}… when made ({len(data)} of {backup.size} bytes); nothing "
                "was changed, resume from another copy"
            )
        after = {**self._entries, backup.name: backup}
        self._written.update(
            _write_all_atomically(self.directory, {backup.name: data}, (INDEX, _index_bytes(after)))
        )
        self._entries = after
        return self.load_state(backup.name)

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


def _write_all_atomically(
    directory: Path,
    files: dict[str, bytes],
    last: tuple[str, bytes],
    links: dict[str, str] | None = None,
) -> dict[str, tuple[int, int, int]]:
    """Write the files, make them durable (an fdatasync each, or one `syncfs` when there are
    many), then put them in place, `last` (the index) after the files it lists: a crash
    leaves whole old files or whole new ones, never half. A file under a new name is written
    in place (until the index lists it, it is not a backup); one that replaces a file goes
    through a temporary name and a rename. `links` (new name -> a file already holding the
    same bytes, synced when written) are hard links: no data to write or sync, as a
    deduplicating backup store shares chunks. Returns each data file's (inode, size, mtime_ns)."""
    directory.mkdir(parents=True, exist_ok=True)
    everything = [*files.items(), last]
    one_by_one = len(everything) <= SYNC_FILES_ONE_BY_ONE
    renames: list[tuple[str, Path]] = []
    created: list[Path] = []
    stats: dict[str, tuple[int, int, int]] = {}
    try:
        for name, source in (links or {}).items():
            path = directory / name
            os.link(directory / source, path)
            created.append(path)
            stat = os.stat(path)
            stats[name] = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        for name, data in everything:
            path = directory / name
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                created.append(path)
            except FileExistsError:
                fd, tmp_name = temp_file(directory, name)
                renames.append((tmp_name, path))
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                if one_by_one:
                    os.fdatasync(out.fileno())
                stat = os.fstat(out.fileno())
            if name in files:
                stats[name] = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        if not one_by_one:
            sync_filesystem(directory)
        for tmp_name, path in renames:
            os.replace(tmp_name, path)
    except BaseException:
        for tmp_name, _ in renames:
            Path(tmp_name).unlink(missing_ok=True)
        for path in created:
            path.unlink(missing_ok=True)
        raise
    # No second sync for the renames: a crash may lose the newest batch, never leave half of it.
    return stats


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


def _index_bytes(entries: dict[str, Backup]) -> bytes:
    """The store's index file: every backup by name with its kind, date, size and SHA-256."""
    index = {
        "format": INDEX_FORMAT,
        "backups": {
            n: {
                "kind": b.kind.value,
                "made_at_seconds": b.made_at_seconds,
                "size": b.size,
                "sha256": b.sha256,
            }
            for n, b in entries.items()
        },
    }
    return json.dumps(index).encode("utf-8")
