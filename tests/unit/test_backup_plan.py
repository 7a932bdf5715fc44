"""Backups and archives (DOMAIN.md, seed 004 Fiche 10): what is due, its name, what is kept,
checked on a SimulatedClock with the real backup store writing real files."""

from __future__ import annotations

import datetime
import hashlib
from pathlib import Path

import pytest

from common import backup_plan
from common.backup_plan import Entry, Kind
from common.clock import SimulatedClock
from tests.dates import at
from vm_agent.backups import BackupStore, Corrupt
from vm_agent.domain.errors import InvalidArgument, NotFound

UAI = "0750655E"
YEAR = "2026-2027"
STATE = {"format": 1, "bases": [], "in_service": None, "reserved_licences": 0}


class Simulation:
    """The scheduler's loop in small: advance the clock, make what is due in between."""

    def __init__(self, directory: Path, start: str) -> None:
        self.clock = SimulatedClock(at(start))
        self.last = self.clock.now()
        self.store = BackupStore(directory, UAI)

    def advance_to(self, when: str) -> int:
        self.clock.advance_to(at(when))
        due = backup_plan.due_between(self.last, self.clock.now())
        self.last = self.clock.now()
        return self.store.make(due, YEAR, STATE).due

    def names(self, kind: Kind) -> set[str]:
        return {b.name for b in self.store.listing() if b.kind is kind}


def test_a_sauvegarde_every_two_hours_and_an_archive_every_day() -> None:
    due = backup_plan.due_between(at("2026-09-01T00:00"), at("2026-09-02T00:00"))
    saves = [d for d in due if d.kind is Kind.SAUVEGARDE]
    archives = [d for d in due if d.kind is Kind.ARCHIVE]
    assert [d.at_seconds for d in saves] == [
        at("2026-09-01T00:00") + 7200 * i for i in range(1, 13)
    ]
    assert [d.at_seconds for d in archives] == [at("2026-09-01T04:33")]
    assert [d.at_seconds for d in due] == sorted(d.at_seconds for d in due)


def test_names_follow_the_console_examples() -> None:
    assert backup_plan.name_for(Kind.SAUVEGARDE, "2023-2024", at("2023-07-13T00:10")) == (
        "Base année 2023-202401.sauvs"
    )
    assert backup_plan.name_for(Kind.SAUVEGARDE, "2023-2024", at("2023-07-13T17:42")) == (
        "Base année 2023-202409.sauvs"
    )
    assert backup_plan.name_for(Kind.ARCHIVE, "2022-2023", at("2023-07-13T04:33")) == (
        "Annee Base 2022-2023_20230713_04h33.archs"
    )
    assert backup_plan.name_for(Kind.YEAR_END, "2022-2023", at("2023-07-05T04:33")) == (
        "Annee Base 2022-2023 fin d'année.archs"
    )


def test_after_three_days_the_last_12_sauvegardes_and_3_archives(tmp_path: Path) -> None:
    sim = Simulation(tmp_path, "2026-09-01T00:00")
    assert sim.advance_to("2026-09-04T00:00") == 36 + 3
    assert sim.names(Kind.SAUVEGARDE) == {f"Base année {YEAR}{n:02d}.sauvs" for n in range(1, 13)}
    made = sorted(b.made_at_seconds for b in sim.store.listing() if b.kind is Kind.SAUVEGARDE)
    assert made == [at("2026-09-03T02:00") + 7200 * i for i in range(12)]  # the last 24 h
    assert sim.names(Kind.ARCHIVE) == {
        f"Annee Base {YEAR}_202609{day:02d}_04h33.archs" for day in (1, 2, 3)
    }


def test_after_40_days_the_30_last_daily_archives(tmp_path: Path) -> None:
    sim = Simulation(tmp_path, "2026-09-01T00:00")
    for day in range(2, 42, 7):  # advancing in steps or at once keeps the same set
        sim.advance_to((datetime.date(2026, 9, 1) + datetime.timedelta(days=day - 1)).isoformat())
    sim.advance_to("2026-10-11T00:00")
    expected_days = [datetime.date(2026, 9, 11) + datetime.timedelta(days=i) for i in range(30)]
    assert sim.names(Kind.ARCHIVE) == {
        f"Annee Base {YEAR}_{day:%Y%m%d}_04h33.archs" for day in expected_days
    }
    assert len(sim.names(Kind.SAUVEGARDE)) == 12
    assert sim.names(Kind.YEAR_END) == set()


def test_one_step_and_many_steps_keep_the_same_set(tmp_path: Path) -> None:
    one = Simulation(tmp_path / "one", "2026-09-01T00:00")
    many = Simulation(tmp_path / "many", "2026-09-01T00:00")
    one.advance_to("2026-10-20T13:00")
    day = datetime.datetime(2026, 9, 1, tzinfo=datetime.UTC)
    while day < datetime.datetime(2026, 10, 20, 13, tzinfo=datetime.UTC):
        day += datetime.timedelta(hours=5)
        many.advance_to(
            min(day, datetime.datetime(2026, 10, 20, 13, tzinfo=datetime.UTC))
            .replace(tzinfo=None)
            .isoformat()
        )
    assert {(b.name, b.made_at_seconds) for b in one.store.listing()} == {
        (b.name, b.made_at_seconds) for b in many.store.listing()
    }


def test_the_july_archive_survives_the_30_day_rule_until_the_next_one(tmp_path: Path) -> None:
    sim = Simulation(tmp_path, "2027-06-01T00:00")
    sim.advance_to("2027-08-20T00:00")
    year_end = sim.store.listing()
    (july,) = [b for b in year_end if b.kind is Kind.YEAR_END]
    assert july.name == f"Annee Base {YEAR} fin d'année.archs"
    assert july.made_at_seconds == at("2027-07-05T04:33")
    archives = sorted(b.made_at_seconds for b in year_end if b.kind is Kind.ARCHIVE)
    assert len(archives) == 30 and archives[0] == at("2027-07-21T04:33")
    sim.advance_to("2028-07-06T00:00")  # the next year's July archive replaces it
    (july,) = [b for b in sim.store.listing() if b.kind is Kind.YEAR_END]
    assert july.made_at_seconds == at("2028-07-05T04:33")


def test_retention_keeps_the_newest_archive_of_each_day() -> None:
    day = at("2026-09-01T00:00")
    entries = [Entry(f"a{i}.archs", Kind.ARCHIVE, day + i * 3600) for i in range(5)]
    assert backup_plan.retained(entries) == {"a4.archs"}


def test_every_backup_carries_its_sha256(tmp_path: Path) -> None:
    sim = Simulation(tmp_path, "2026-09-01T00:00")
    sim.advance_to("2026-09-01T06:00")
    for backup in sim.store.listing():
        data = (tmp_path / backup.name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == backup.sha256
        assert sim.store.load_state(backup.name) == STATE
    assert sim.store.last_verification_ok is True


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_a_damaged_backup_is_refused(tmp_path: Path, damage: str) -> None:
    sim = Simulation(tmp_path, "2026-09-01T00:00")
    sim.advance_to("2026-09-01T02:00")
    (backup,) = sim.store.listing()
    path = tmp_path / backup.name
    data = path.read_bytes()
    path.write_bytes(
        data[: len(data) // 2] if damage == "truncate" else data.replace(b"{", b"[", 1)
    )
    with pytest.raises(Corrupt, match="corrupt"):
        sim.store.load_state(backup.name)
    assert sim.store.last_verification_ok is False


@pytest.mark.parametrize(
    "name", ["../state.json", "../../x.sauvs", "/etc/passwd", ".hidden.sauvs", "a/b.archs", "x.txt"]
)
def test_hostile_names_are_refused(tmp_path: Path, name: str) -> None:
    store = BackupStore(tmp_path, UAI)
    with pytest.raises(InvalidArgument):
        store.load_state(name)


def test_an_unknown_backup_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        BackupStore(tmp_path, UAI).load_state("Base année 2026-202701.sauvs")
