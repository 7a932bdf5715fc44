"""The backup store's cheap writes: a backup whose name already holds exactly its bytes is
re-dated, not rewritten; a new one with bytes already on disk is a hard link; a damaged or
changed one is written again; the index survives."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from common import backup_plan
from tests.dates import at
from vm_agent.backups import BackupStore, Corrupt

UAI = "0750655E"
YEAR = "2026-2027"
STATE = {"format": 1, "bases": [], "in_service": None, "reserved_licences": 0}


def day(store: BackupStore, start: str, end: str, state: dict[str, object] = STATE) -> int:
    return store.make(backup_plan.due_between(at(start), at(end)), YEAR, state).files_written


def test_an_unchanged_base_rewrites_only_the_new_archive(tmp_path: Path) -> None:
    store = BackupStore(tmp_path, UAI)
    assert day(store, "2026-09-01", "2026-09-02") == 13  # 12 sauvegardes and an archive
    slot = tmp_path / f"Base année {YEAR}01.sauvs"
    inode = slot.stat().st_ino
    assert day(store, "2026-09-02", "2026-09-03") == 0  # nothing: the archive is a hard link
    assert slot.stat().st_ino == inode
    archive = tmp_path / f"Annee Base {YEAR}_20260902_04h33.archs"
    assert archive.stat().st_nlink == 2 and store.load_state(archive.name) == STATE
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
    archive = tmp_path / f"Annee Base {YEAR}_20260902_04h33.archs"
    day(store, "2026-09-02T02:00", "2026-09-02T04:33")  # linked to a sauvegarde of that day
    (sibling,) = [p for p in tmp_path.glob("*.sauvs") if p.samefile(archive)]
    archive.write_bytes(b"{}")  # damaging one damages the file sharing its bytes: detected
    for damaged in (archive, sibling):
        with pytest.raises(Corrupt):
            store.load_state(damaged.name)
    day(store, "2026-09-02T04:33", "2026-09-03T04:00")  # the sibling's slot comes again
    assert not sibling.samefile(archive) and store.load_state(sibling.name) == STATE
    changed = {**STATE, "reserved_licences": 1}
    assert day(store, "2026-09-03T04:00", "2026-09-03T08:00", changed) == 3  # 04:33, 06:00, 08:00
    assert store.load_state(f"Base année {YEAR}05.sauvs") == changed


def test_a_backup_made_elsewhere_is_adopted_only_if_its_checksum_matches(tmp_path: Path) -> None:
    """A sauvegarde copied off a lost node is checked before it is taken (swarm://)."""
    origin = BackupStore(tmp_path / "node2", UAI)
    day(origin, "2026-09-01", "2026-09-01T02:00")
    (made,) = origin.listing()
    data = (tmp_path / "node2" / made.name).read_bytes()
    fresh = BackupStore(tmp_path / "node0", UAI)
    with pytest.raises(Corrupt, match="arrived damaged"):
        fresh.adopt(made, data[:-1])
    assert fresh.listing() == [] and not (tmp_path / "node0" / made.name).exists()
    assert fresh.adopt(made, data) == STATE
    assert BackupStore(tmp_path / "node0", UAI).listing() == [made]  # in its index
