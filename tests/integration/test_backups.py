"""Backups and archives on a simulated clock, through a real fleet (seed 004 Fiche 10): the
clock is advanced (never slept), the due backups exist with valid SHA-256, a corrupt one is
refused with the base in service untouched, opening one restores the data, and bans expire
on the simulated clock."""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from protos import common_pb2, console_pb2
from tests.dates import at
from tests.integration.harness import (
    Datacenter,
    account,
    advance,
    backups,
    client,
    free_pool,
    rpc_error,
    wait_for,
)
from tests.integration.metrics_helpers import samples, value

START = "2026-09-01"
YEAR = "2026-2027"
ATTACKER = "127.100.250.10"


@pytest.fixture
def dc(tmp_path: Path) -> Iterator[Datacenter]:
    """A fleet on a frozen simulated clock: only advancing it makes backups."""
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    datacenter = Datacenter(
        state_dir,
        free_pool(first_octets="127.100"),
        clock="simulated",
        clock_start=START,
        scheduler_interval_seconds="0.2",
    )
    datacenter.start()
    try:
        yield datacenter
    finally:
        datacenter.down()


def test_advancing_the_clock_makes_every_backup_due_in_order(dc: Datacenter) -> None:
    schools = [dc.provision(digits).school for digits in ("0751001", "0751002")]
    reply = advance(dc, "2026-09-04")
    assert (reply.schools, reply.backups_due, reply.archives_due) == (2, 2 * 36, 2 * 3)
    for school in schools:
        found = backups(dc, school.uai)
        saves = [b for b in found if b.kind == "sauvegarde"]
        assert {b.name for b in saves} == {f"Base année {YEAR}{n:02d}.sauvs" for n in range(1, 13)}
        assert sorted(b.made_at_seconds for b in saves) == [
            at("2026-09-03T02:00") + 7200 * i for i in range(12)
        ]
        assert {b.name for b in found if b.kind == "archive"} == {
            f"Annee Base {YEAR}_202609{d:02d}_04h33.archs" for d in (1, 2, 3)
        }
        store = dc.state_dir / "backups" / school.uai  # outside the school's own directory
        for backup in found:
            assert hashlib.sha256((store / backup.name).read_bytes()).hexdigest() == backup.sha256
        page = samples(f"http://{school.address}:49380/metrics")
        assert value(page, "pronote_backup_last_success_timestamp_seconds") == at("2026-09-04")
        assert value(page, "pronote_archive_last_success_timestamp_seconds") == at(
            "2026-09-03T04:33"
        )
        assert value(page, "pronote_backup_last_verification_success") == 1

    advance(dc, "2026-10-11")
    days = [datetime.date(2026, 9, 11) + datetime.timedelta(days=i) for i in range(30)]
    assert {b.name for b in backups(dc, schools[0].uai) if b.kind == "archive"} == {
        f"Annee Base {YEAR}_{d:%Y%m%d}_04h33.archs" for d in days
    }


def test_the_clock_is_shown_and_only_the_operator_advances_it(dc: Datacenter) -> None:
    shown = dc.cli("clock", "show", "--json").stdout
    assert '"simulated": true' in shown and str(int(at(START))) in shown.replace(".0", "")
    error = rpc_error(
        dc.console("not-a-token").AdvanceClock,
        console_pb2.AdvanceClockRequest(to_seconds=at("2026-09-02")),
    )
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    past = rpc_error(
        dc.operator().AdvanceClock, console_pb2.AdvanceClockRequest(to_seconds=at("2026-08-01"))
    )
    assert past.code() == grpc.StatusCode.INVALID_ARGUMENT
    result = dc.cli("clock", "advance", "yesterday", check=False)
    assert result.returncode != 0 and "2026-09-01" in result.stderr + result.stdout


def stop_and_open(dc: Datacenter, uai: str, name: str, confirm: bool = True) -> Any:
    dc.operator().StopServer(console_pb2.SchoolRef(uai=uai))
    request = console_pb2.OpenBackupRequest(uai=uai, name=name, confirm=confirm)
    return dc.operator().OpenBackup(request)


def put_back_in_service(dc: Datacenter, uai: str) -> None:
    (base,) = dc.operator().ListBases(console_pb2.SchoolRef(uai=uai)).bases
    request = console_pb2.PutBaseInServiceRequest(uai=uai, base_id=base.id)
    dc.operator().PutBaseInService(request)


def test_opening_a_backup_restores_the_bases_as_they_were(dc: Datacenter) -> None:
    school = dc.provision("0751003").school
    admin = account(school, "administratif")
    advance(dc, "2026-09-01T02:00")
    (backup,) = backups(dc, school.uai)
    late = dc.add_user(school, "arrivee.tardive", common_pb2.USER_KIND_PERSONNEL)
    operator = dc.operator()

    serving = rpc_error(
        operator.OpenBackup,
        console_pb2.OpenBackupRequest(uai=school.uai, name=backup.name, confirm=True),
    )
    assert serving.code() == grpc.StatusCode.FAILED_PRECONDITION
    operator.StopServer(console_pb2.SchoolRef(uai=school.uai))
    unconfirmed = rpc_error(
        operator.OpenBackup, console_pb2.OpenBackupRequest(uai=school.uai, name=backup.name)
    )
    assert unconfirmed.code() == grpc.StatusCode.INVALID_ARGUMENT
    bases = operator.OpenBackup(
        console_pb2.OpenBackupRequest(uai=school.uai, name=backup.name, confirm=True)
    )
    assert bases.server_state == common_pb2.SERVER_STATE_STOPPED
    put_back_in_service(dc, school.uai)
    with client(school.address) as c:
        c.connect(admin.login, admin.password)
        refused = rpc_error(c.connect, "arrivee.tardive", late)
        assert refused.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_damaged_backup_is_refused_and_nothing_changes(dc: Datacenter) -> None:
    school = dc.provision("0751004").school
    advance(dc, "2026-09-02")
    archive = next(b for b in backups(dc, school.uai) if b.kind == "archive")
    late = dc.add_user(school, "apres.archive", common_pb2.USER_KIND_PERSONNEL)
    path = dc.state_dir / "backups" / school.uai / archive.name
    path.write_bytes(path.read_bytes()[:100])  # truncated
    before = dc.operator().ListBases(console_pb2.SchoolRef(uai=school.uai))

    error = rpc_error(stop_and_open, dc, school.uai, archive.name)
    assert error.code() == grpc.StatusCode.DATA_LOSS and "corrupt" in error.details()
    after = dc.operator().ListBases(console_pb2.SchoolRef(uai=school.uai))
    assert [b.name for b in after.bases] == [b.name for b in before.bases]
    for name, code in (
        ("../state.json", grpc.StatusCode.INVALID_ARGUMENT),
        ("../../schools/x.archs", grpc.StatusCode.INVALID_ARGUMENT),
        ("Annee Base 1999-2000_19990901_04h33.archs", grpc.StatusCode.NOT_FOUND),
    ):
        request = console_pb2.OpenBackupRequest(uai=school.uai, name=name, confirm=True)
        assert rpc_error(dc.operator().OpenBackup, request).code() == code
        download = console_pb2.BackupRequest(uai=school.uai, name=name)
        assert rpc_error(dc.operator().DownloadArchive, download).code() == code
    put_back_in_service(dc, school.uai)
    with client(school.address) as c:
        c.connect("apres.archive", late)  # the base in service kept what came after
    page = samples(f"http://{school.address}:49380/metrics")
    assert value(page, "pronote_backup_last_verification_success") == 0


def test_an_archive_is_downloaded_with_its_checksum(dc: Datacenter, tmp_path: Path) -> None:
    school = dc.provision("0751005").school
    advance(dc, "2026-09-02")
    archive = next(b for b in backups(dc, school.uai) if b.kind == "archive")
    out = tmp_path / "archive.archs"
    dc.cli("console", "download-archive", archive.name, "--uai", school.uai, "-o", str(out))
    assert hashlib.sha256(out.read_bytes()).hexdigest() == archive.sha256
    sauvegarde = next(b for b in backups(dc, school.uai) if b.kind == "sauvegarde")
    refused = dc.cli("console", "download-archive", sauvegarde.name, "--uai", school.uai,
                     "-o", str(tmp_path / "no"), check=False)  # fmt: skip
    assert refused.returncode != 0 and not (tmp_path / "no").exists()


def test_backups_outlive_the_schools_server(dc: Datacenter) -> None:
    school = dc.provision("0751006").school
    advance(dc, "2026-09-02")
    made = {(b.name, b.sha256) for b in backups(dc, school.uai)}
    dc.operator().DeprovisionSchool(console_pb2.SchoolRef(uai=school.uai))
    school = dc.provision("0751006").school
    assert {(b.name, b.sha256) for b in backups(dc, school.uai)} == made
    archive = next(name for name, _ in made if name.endswith(".archs"))
    stop_and_open(dc, school.uai, archive)


def test_suspensions_expire_on_the_simulated_clock(dc: Datacenter) -> None:
    school = dc.provision("0751007").school
    admin = account(school, "administratif")
    with client(school.address, source_ip=ATTACKER) as attacker:
        for _ in range(5):
            rpc_error(attacker.connect, admin.login, "wrong")
        refused = rpc_error(attacker.connect, admin.login, admin.password)
        assert refused.code() == grpc.StatusCode.PERMISSION_DENIED
        advance(dc, "2026-09-01T00:09")  # bantime is 10 min
        assert rpc_error(attacker.connect, admin.login, admin.password).code() == (
            grpc.StatusCode.PERMISSION_DENIED
        )
        advance(dc, "2026-09-01T00:11")
        attacker.connect(admin.login, admin.password)


def test_a_restarted_controller_goes_on_from_its_simulated_time(dc: Datacenter) -> None:
    school = dc.provision("0751008").school
    advance(dc, "2026-09-02")
    dc.stop()
    dc.start()  # the school keeps running and is adopted
    now = dc.operator().GetClock(console_pb2.ClockRequest()).now_seconds
    assert now == at("2026-09-02")
    reply = advance(dc, "2026-09-02T02:00")
    assert (reply.backups_due, reply.archives_due) == (1, 0)  # nothing made twice
    assert len([b for b in backups(dc, school.uai) if b.kind == "sauvegarde"]) == 12


def test_a_moving_clock_makes_each_backup_at_its_slot_with_no_advance(tmp_path: Path) -> None:
    """DESIGN decision 31: the scheduler sleeps until the next slot (here 10 simulated
    minutes a real second) and is not polled; its retry interval is an hour, so only that
    timer can make the 02:00 sauvegarde."""
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    dc = Datacenter(
        state_dir,
        free_pool(first_octets="127.100"),
        clock="simulated",
        clock_start="2026-09-01T01:00",
        clock_speed="600",
        scheduler_interval_seconds="3600",
    )
    dc.start()
    try:
        school = dc.provision("0751009").school  # a base in service: it has something to save
        made = wait_for(lambda: backups(dc, school.uai), timeout=30)  # a slot: 12 s real
        # made at its slot (02:00, or 04:00 if provisioning ran past 02:00 on a busy box)
        assert {b.kind for b in made} == {"sauvegarde"}
        assert all(b.made_at_seconds % 7200 == 0 for b in made)
        assert min(b.made_at_seconds for b in made) in (
            at("2026-09-01T02:00"),
            at("2026-09-01T04:00"),
        )
    finally:
        dc.down()
