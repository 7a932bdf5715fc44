"""The yearly cycle's rules (DOMAIN.md "Yearly cycle", seed 001, seed 004 Fiche 12): the switch
day per school, the pre-version window, deferrals, and what a switch does to a school's bases;
"Récupérer les données de l'an passé" (seed 003 p.9)."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from common import backup_plan
from common.backup_plan import Due, Kind
from common.clock import SimulatedClock
from datacenter.core.errors import InvalidArgument, WrongState
from datacenter.core.year_cycle import (
    Choice,
    DueSwitch,
    YearCycle,
    automatic_day,
    cycle_year,
    split,
)
from tests.dates import at
from vm_agent.domain import errors, rentree
from vm_agent.domain.licences import LicencePolicy
from vm_agent.domain.modes import UserKind
from vm_agent.domain.school import SchoolIdentity, SchoolServer
from vm_agent.domain.security import SecurityPolicy

UAI = "0752000X"


def test_each_school_switches_on_its_own_day_between_21_and_24_august() -> None:
    days = {automatic_day(f"07520{n:02d}A", 2027) for n in range(40)}
    assert days == {datetime.date(2027, 8, d) for d in (21, 22, 23, 24)}
    assert automatic_day("0752001B", 2027) == automatic_day("0752001B", 2027)  # deterministic
    assert automatic_day("0752001B", 2028).day == automatic_day("0752001B", 2027).day


def test_a_cycle_runs_from_october_to_september() -> None:
    assert cycle_year(datetime.date(2026, 10, 1)) == 2027
    assert cycle_year(datetime.date(2027, 7, 10)) == 2027
    assert cycle_year(datetime.date(2027, 9, 30)) == 2027


def test_the_switch_is_due_once_at_03h00_on_its_day(tmp_path: Path) -> None:
    cycle = YearCycle(tmp_path / "cycle.json")
    assert cycle.due_between(UAI, at("2027-08-01"), at("2027-08-21T02:59")) == []
    (due,) = cycle.due_between(UAI, at("2027-08-21T02:59"), at("2027-08-22"))
    assert (due.year, due.at_seconds, due.keep_in_service) == (2027, at("2027-08-21T03:00"), False)
    cycle.record_switch(UAI, due, "new_base", "", "Base année 2027-2028.not")
    assert cycle.due_between(UAI, at("2027-08-01"), at("2027-09-01")) == []
    reread = YearCycle(tmp_path / "cycle.json")  # a restarted controller does not switch again
    assert reread.due_between(UAI, at("2027-08-01"), at("2027-09-01")) == []
    assert reread.view(UAI, 2027)["outcome"] == "new_base"
    reread.forget(UAI)  # the school was removed: provisioned again, it switches again
    assert YearCycle(tmp_path / "cycle.json").due_between(UAI, at("2027-08-01"), at("2027-09-01"))


def test_the_preversion_is_requested_between_6_and_20_july(tmp_path: Path) -> None:
    cycle = YearCycle(tmp_path / "cycle.json")
    with pytest.raises(WrongState, match="available from 2027-07-06"):
        cycle.check_preversion(UAI, at("2027-07-05T12:00"))
    with pytest.raises(WrongState, match="closed on 2027-07-20"):
        cycle.check_preversion(UAI, at("2027-07-21T00:00"))
    assert cycle.check_preversion(UAI, at("2027-07-20T23:59")) == 2027
    cycle.record_preversion(UAI, 2027, at("2027-07-20T23:59"), "new_base")
    with pytest.raises(WrongState, match="already installed on 2027-07-20"):
        cycle.check_preversion(UAI, at("2027-07-20T23:59"))
    assert cycle.get(UAI, 2027).choice is Choice.PREVERSION


def test_a_deferral_goes_to_a_date_of_the_rentree_window(tmp_path: Path) -> None:
    cycle = YearCycle(tmp_path / "cycle.json")
    now = at("2027-08-22T12:00")
    for bad, message in (
        ("2027-08-22", "not in the future"),
        ("2027-08-01", "not in the future"),
        ("2027-10-01", "outside the rentrée window"),
        ("22/08/2027", "not a date"),
    ):
        with pytest.raises(InvalidArgument, match=message):
            cycle.defer(UAI, now, bad, keep_base=False)
    assert cycle.get(UAI, 2027).choice is Choice.AUTOMATIC  # nothing changed
    cycle.defer(UAI, now, "2027-09-15", keep_base=True)
    assert cycle.due_between(UAI, at("2027-08-20"), at("2027-09-14")) == []
    (due,) = cycle.due_between(UAI, at("2027-09-14"), at("2027-09-16"))
    assert due.keep_in_service
    cycle.record_switch(UAI, due, "kept", "", "Base année 2026-2027.not")
    with pytest.raises(WrongState, match="already happened on 2027-09-15"):
        cycle.defer(UAI, at("2027-09-16"), "2027-09-20", keep_base=False)


def test_backups_due_before_a_switch_are_made_before_it() -> None:
    due = backup_plan.due_between(at("2027-08-21"), at("2027-08-21T06:00"))
    switch = DueSwitch(2027, at("2027-08-21T03:00"), False)
    (before, first), (after, none) = split(due, [switch])
    assert first == switch and none is None
    assert [d.at_seconds for d in before] == [at("2027-08-21T02:00")]
    assert [d.at_seconds for d in after] == [
        at("2027-08-21T04:00"),
        at("2027-08-21T04:33"),
        at("2027-08-21T06:00"),
    ]
    assert split([Due(Kind.SAUVEGARDE, 1.0)], []) == [([Due(Kind.SAUVEGARDE, 1.0)], None)]


# -- on the school's server ------------------------------------------------------------


def school(save: Callable[[dict[str, Any]], None] = lambda state: None) -> SchoolServer:
    server = SchoolServer(
        SchoolIdentity(UAI, "Collège"),
        LicencePolicy(4, 30),
        SecurityPolicy(5, 600, 600),
        600,
        SimulatedClock(at("2026-09-01")),
        save=save,
    )
    base = server.create_base("2026-2027", sample_records=True)
    server.put_in_service(base.id, "spr", "spr-password")
    server.add_user("prof.martin", "secret", "MARTIN", UserKind.PROFESSEUR)
    return server


def test_last_years_base_is_replaced_by_an_empty_one_with_the_spr() -> None:
    server = school()
    switch = server.start_new_year("2027-2028", at("2027-08-21T03:00"))
    assert switch.outcome == "new_base" and switch.base is server.base_in_service
    new = server.base_in_service
    assert new is not None and new.school_year == "2027-2028" and not new.records
    assert new.created_at_seconds == at("2027-08-21T03:00")
    assert set(new.users) == {"spr"} and new.authenticate("spr", "spr-password")
    later = server.start_new_year("2028-2029", at("2027-08-22T03:00"), keep_in_service=True)
    assert (later.outcome, later.base) == ("kept", new)  # this year's base is kept


def test_a_switch_asked_again_answers_what_it_did() -> None:
    """The controller died between the switch and its record, and asks again after a restart
    (the school's server restarted too): the answer is the switch made, not "kept"."""
    saved: list[dict[str, Any]] = []
    server = school(saved.append)
    first = server.start_new_year("2027-2028", at("2027-08-21T03:00"))
    restarted = SchoolServer(
        SchoolIdentity(UAI, "Collège"),
        LicencePolicy(4, 30),
        SecurityPolicy(5, 600, 600),
        600,
        SimulatedClock(at("2027-08-21T04:00")),
        save=lambda state: None,
        saved_state=saved[-1],
    )
    again = restarted.start_new_year("2027-2028", at("2027-08-21T03:00"))
    assert again.outcome == first.outcome == "new_base"
    assert again.detail == first.detail and again.base is not None and first.base is not None
    assert again.base.id == first.base.id == restarted.base_in_service.id  # type: ignore[union-attr]
    # The August switch after a pre-version (another moment) keeps the base put in service.
    august = restarted.start_new_year("2027-2028", at("2027-08-25T03:00"))
    assert (august.outcome, august.base) == ("kept", restarted.base_in_service)


def test_a_deferral_keeping_the_base_keeps_last_years() -> None:
    server = school()
    switch = server.start_new_year("2027-2028", at("2027-09-02T03:00"), keep_in_service=True)
    assert switch.outcome == "kept" and switch.base is not None
    assert switch.base.school_year == "2026-2027"


def test_a_stopped_server_is_not_switched() -> None:
    server = school()
    server.stop()
    assert server.start_new_year("2027-2028", at("2027-08-21")).outcome == "skipped"
    assert [b.school_year for b in server.bases] == ["2026-2027"]


def test_last_years_data_comes_back_by_the_kinds_chosen() -> None:
    server = school()
    archive = server.snapshot()  # as in the July archive
    last_year = server.base_in_service
    assert last_year is not None
    server.start_new_year("2027-2028", at("2027-08-21T03:00"))
    with pytest.raises(errors.InvalidArgument, match="bulletins"):
        server.recover_last_year(archive, ["maquettes", "bulletins"])
    new = server.base_in_service
    assert new is not None and not new.records and "prof.martin" not in new.users
    done = server.recover_last_year(archive, ["Identifiants et mots de passe", "maquettes"])
    assert [(r.kind, r.records) for r in done] == [
        ("maquettes", last_year.records["maquettes"]),
        ("identifiants_et_mots_de_passe", 1),
    ]
    assert new.authenticate("prof.martin", "secret").kind is UserKind.PROFESSEUR
    assert new.counters.professeurs == 1
    assert new.spr is not None and new.spr.login == "spr"


def test_every_kind_of_seed_003_can_be_chosen() -> None:
    assert len(rentree.DATA_KINDS) == 19
    assert rentree.parse_kinds(["all"]) == [kind for kind, _ in rentree.DATA_KINDS]
    assert rentree.parse_kinds(["Décrochages scolaires", "autorisations"]) == [
        "autorisations",
        "decrochages_scolaires",
    ]
    with pytest.raises(errors.InvalidArgument, match="choose the data"):
        rentree.parse_kinds([])


def test_an_archive_without_last_years_base_changes_nothing() -> None:
    server = school()
    with pytest.raises(errors.NotFound, match="2025-2026"):
        server.recover_last_year(server.snapshot(), ["maquettes"])
