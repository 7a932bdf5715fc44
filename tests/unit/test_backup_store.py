"""The backup store's cheap writes: a backup whose name already holds exactly its bytes is
re-dated, not rewritten; a damaged or changed one is written again; the index survives."""

from __future__ import annotations

import datetime
import hashlib
from pathlib import Path

from common import backup_plan
from vm_agent.backups import BackupStore

UAI = "0750655E"
YEAR = "2026-2027"
STATE = {"format": 1, "bases": [], "in_service": None, "reserved_licences": 0}


def at(text: str) -> float:
    return datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.UTC).timestamp()


def day(store: BackupStore, start: str, end: str, state: dict[str, object] = STATE) -> int:
    return store.make(backup_plan.due_between(at(start), at(end)), YEAR, state).files_written


def test_an_unchanged_base_rewrites_only_the_new_archive(tmp_path: Path) -> None:
    store = BackupStore(tmp_path, UAI)
    assert day(store, "2026-09-01", "2026-09-02") == 13  # 12 sauvegardes and an archive
    slot = tmp_path / f"Base année {YEAR}01.sauvs"
    inode = slot.stat().st_ino
    assert day(store, "2026-09-02", "2026-09-03") == 1  # the new archive only
    assert slot.stat().st_ino == inode
    (entry,) = [b for b in store.listing() if b.name == slot.name]
    assert entry.made_at_seconds == at("2026-09-03T00:00")  # re-dated (00:00-02:00)
    assert hashlib.sha256(slot.read_bytes()).hexdigest() == entry.sha256
    reopened = BackupStore(tmp_path, UAI)  # the index on disk says the same
    assert reopened.listing() == store.listing()


def test_a_damaged_or_changed_backup_is_written_again(tmp_path: Path) -> None:
    store = BackupStore(tmp_path, UAI)
    day(store, "2026-09-01", "2026-09-02")
    slot = tmp_path / f"Base année {YEAR}02.sauvs"
    slot.write_bytes(slot.read_bytes()[:10])
    assert day(store, "2026-09-02", "2026-09-02T02:00") == 1  # slot 02 (02:00) rewritten
    assert store.load_state(slot.name) == STATE
    changed = {**STATE, "reserved_licences": 1}
    assert day(store, "2026-09-02T02:00", "2026-09-02T06:00", changed) == 3  # 04:00, 04:33, 06:00
    assert store.load_state(f"Base année {YEAR}03.sauvs") == changed
