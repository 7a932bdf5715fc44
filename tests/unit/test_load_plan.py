"""The load generator's plan, targets and casting: bounds, safety and fair spreading."""

from __future__ import annotations

from collections import Counter

import pytest

from loadtest.errors import InvalidPlan, UnsafeTarget
from loadtest.plan import MAX_DURATION_SECONDS, MAX_SESSIONS, LoadPlan, apportion, parse_mix
from loadtest.scenarios import SCENARIOS, build_plan
from loadtest.stats import Recorder, percentile, reason_of
from loadtest.targets import Account, Target, check_safe, select
from loadtest.users import accounts_needed, cast


def school(uai: str, address: str = "127.51.0.1", teachers: int = 1) -> Target:
    accounts = [
        Account("administratif", "admin.durand", "pw"),
        Account("vie_scolaire", "cpe", "pw"),
    ]
    accounts += [Account("enseignant", f"prof{i}", "pw") for i in range(teachers)]
    return Target(uai, "Collège", address, 49300, tuple(accounts))


def test_an_unbounded_run_is_refused_with_what_to_give() -> None:
    with pytest.raises(InvalidPlan, match=r"unbounded run is refused.*--duration.*--sessions"):
        build_plan("steady", users=5)


def test_bounds_never_exceed_the_hard_limits() -> None:
    assert build_plan("steady", sessions=10).deadline_seconds == MAX_DURATION_SECONDS
    assert build_plan("steady", duration_seconds=5).session_budget == MAX_SESSIONS
    with pytest.raises(InvalidPlan, match="--duration must be between"):
        build_plan("steady", duration_seconds=MAX_DURATION_SECONDS + 1)
    with pytest.raises(InvalidPlan, match="--sessions must be between"):
        build_plan("steady", sessions=MAX_SESSIONS + 1)
    with pytest.raises(InvalidPlan, match="--users must be between"):
        build_plan("steady", sessions=1, users=10**6)


def test_scenarios_set_defaults_that_options_override() -> None:
    assert set(SCENARIOS) == {"steady", "rush", "licences", "bruteforce", "evening", "mobile"}
    evening = build_plan("evening", sessions=1)
    assert dict(evening.mix) == {"eleve": 1.0, "parent": 2.0}  # PRONOTE.net users only
    rush = build_plan("rush", sessions=1, think_time_seconds=None)
    assert rush.mix == (("enseignant", 1.0),) and rush.ramp_up_seconds == 0
    assert build_plan("bruteforce", sessions=1).attackers == 3
    assert build_plan("bruteforce", sessions=1, attackers=1).attackers == 1
    with pytest.raises(InvalidPlan, match="scenario 'noon' does not exist"):
        build_plan("noon", sessions=1)


def test_mix_parsing_and_apportioning() -> None:
    assert parse_mix("administratif=1, Vie scolaire=2") == (
        ("administratif", 1.0),
        ("vie_scolaire", 2.0),
    )
    with pytest.raises(InvalidPlan, match="not a number"):
        parse_mix("enseignant=many")
    with pytest.raises(InvalidPlan, match="mode 'visiteur' does not exist"):
        build_plan("steady", sessions=1, mix=(("visiteur", 1.0),))
    modes = apportion((("enseignant", 6.0), ("vie_scolaire", 2.0), ("edt", 1.0)), 10)
    assert Counter(modes) == {"enseignant": 7, "vie_scolaire": 2, "edt": 1}
    assert modes[:3] == ["enseignant", "vie_scolaire", "edt"]  # interleaved, not in blocks


def test_only_the_fleets_own_addresses_are_targets() -> None:
    check_safe(school("0750655E", "127.51.0.9"), "127.51.0.0/16")
    check_safe(school("0750655E", "172.28.3.4"), "172.28.0.0/16")  # the project's bridge
    with pytest.raises(UnsafeTarget, match="outside the fleet's own addresses"):
        check_safe(school("0750655E", "172.29.3.4"), "172.28.0.0/16")
    with pytest.raises(UnsafeTarget, match="outside the fleet's own addresses"):
        check_safe(school("0750655E", "8.8.8.8"), "8.8.8.0/24")  # not a private network
    with pytest.raises(UnsafeTarget, match="not an IP address"):
        check_safe(school("0750655E", "example.org"), "127.51.0.0/16")


def test_schools_all_listed_or_sampled() -> None:
    fleet = [school(u) for u in ("0750655E", "0130001L", "0690002D")]
    assert [t.uai for t in select(fleet)] == ["0130001L", "0690002D", "0750655E"]
    assert [t.uai for t in select(fleet, ["0750655e"])] == ["0750655E"]
    sample = select(fleet, sample=2, seed=1)
    assert len(sample) == 2 and sample == select(fleet, sample=2, seed=1)
    with pytest.raises(InvalidPlan, match="no school 0750011Z"):
        select(fleet, ["0750011Z"])
    with pytest.raises(InvalidPlan, match="--sample must be between 1 and 3"):
        select(fleet, sample=4)


def test_users_are_spread_evenly_each_with_its_own_address_and_account() -> None:
    targets = [school("0750655E", teachers=4), school("0130001L", teachers=4)]
    plan = build_plan("rush", users=8, sessions=8, attackers=1)
    users = cast(plan, targets, "127.91.0.0/24")
    assert Counter(u.target.uai for u in users if not u.attacker) == {"0750655E": 4, "0130001L": 4}
    assert len({u.source_ip for u in users}) == 9
    assert len({(u.target.uai, u.account.login) for u in users if not u.attacker}) == 8
    assert accounts_needed(plan, targets) == {
        ("0750655E", "enseignant"): 4,
        ("0130001L", "enseignant"): 4,
    }
    attacker = next(u for u in users if u.attacker)
    assert attacker.password != attacker.account.password
    with pytest.raises(InvalidPlan, match="fewer than 9 addresses"):
        cast(plan, targets, "127.91.0.0/29")
    with pytest.raises(InvalidPlan, match=r"inside 127\.0\.0\.0/8"):
        cast(plan, targets, "10.0.0.0/16")


def test_percentiles_are_nearest_rank_and_refusals_are_grouped_by_reason() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.99), percentile([], 0.5)) == (50, 99, 0)
    assert reason_of("all 30 teacher licences of this formula are in use; wait") == (
        "teacher licences in use"
    )
    recorder = Recorder()
    recorder.rpc(
        "A", "connect", 0.002, "RESOURCE_EXHAUSTED", "all 4 licences en modification are in use"
    )
    recorder.connect(
        "A", "RESOURCE_EXHAUSTED", "all 4 licences en modification are in use", "127.91.0.1", False
    )
    recorder.rpc("A", "heartbeat", 0.001, "UNAVAILABLE", "connection reset")
    assert recorder.refusals == {
        ("users", "RESOURCE_EXHAUSTED", "licences en modification in use"): 1
    }
    assert recorder.errors == {("heartbeat", "UNAVAILABLE", "connection reset"): 1}
    assert recorder.schools["A"].refused == 1 and recorder.schools["A"].errors == 1


def test_the_plan_reports_its_settings() -> None:
    plan = LoadPlan(sessions=3, mix=(("edt", 1.0),))
    assert plan.to_dict()["mix"] == {"edt": 1.0} and plan.to_dict()["sessions"] == 3
