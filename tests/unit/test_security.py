"""IP suspension after failed logins, with fail2ban's semantics and explicit times."""

from __future__ import annotations

from vm_agent.domain.security import Guard, SecurityPolicy, Suspension

IP = "10.0.0.7"
POLICY = SecurityPolicy(maxretry=3, findtime_seconds=60.0, bantime_seconds=300.0)


def fail(guard: Guard, times: list[float], ip: str = IP) -> Suspension | None:
    """Record a failure at each time; return the first suspension they caused, if any."""
    results = [guard.record_failure(ip, now) for now in times]
    return next((result for result in results if result is not None), None)


def test_maxretry_failures_within_findtime_suspend_for_bantime() -> None:
    guard = Guard(POLICY)
    assert fail(guard, [100.0, 110.0]) is None
    assert guard.suspension(IP, 110.0) is None
    suspension = guard.record_failure(IP, 120.0)
    assert suspension == Suspension(IP, since_seconds=120.0, until_seconds=420.0, failures=3)
    assert guard.suspension(IP, 121.0) == suspension


def test_failures_older_than_findtime_do_not_count() -> None:
    guard = Guard(POLICY)
    assert fail(guard, [0.0, 10.0, 61.0]) is None  # 0.0 is more than 60 s before 61.0
    assert guard.suspension(IP, 61.0) is None
    assert guard.record_failure(IP, 62.0) is not None  # 10.0, 61.0, 62.0 are within 60 s


def test_a_failure_exactly_findtime_old_has_left_the_window() -> None:
    guard = Guard(POLICY)
    assert fail(guard, [0.0, 30.0, 60.0]) is None


def test_failures_are_counted_per_ip() -> None:
    guard = Guard(POLICY)
    fail(guard, [1.0, 2.0], ip="10.0.0.1")
    fail(guard, [1.0, 2.0], ip="10.0.0.2")
    assert guard.suspensions(3.0) == []


def test_suspension_expires_at_bantime() -> None:
    guard = Guard(POLICY)
    fail(guard, [0.0, 1.0, 2.0])
    assert guard.suspension(IP, 301.9) is not None
    assert guard.suspension(IP, 302.0) is None
    assert guard.suspensions(302.0) == []


def test_after_expiry_it_takes_maxretry_new_failures() -> None:
    guard = Guard(POLICY)
    fail(guard, [0.0, 1.0, 2.0])
    assert fail(guard, [400.0, 401.0]) is None
    assert guard.record_failure(IP, 402.0) is not None


def test_unblock_lifts_the_suspension() -> None:
    guard = Guard(POLICY)
    fail(guard, [0.0, 1.0, 2.0])
    assert guard.unblock(IP) == 1
    assert guard.suspension(IP, 3.0) is None


def test_unblock_forgets_failures() -> None:
    guard = Guard(POLICY)
    fail(guard, [0.0, 1.0, 2.0])
    guard.unblock(IP)
    assert fail(guard, [3.0, 4.0]) is None
    assert guard.suspension(IP, 4.0) is None
    assert guard.record_failure(IP, 5.0) is not None


def test_unblock_forgets_failures_of_an_ip_not_yet_suspended() -> None:
    guard = Guard(POLICY)
    fail(guard, [0.0, 1.0])
    assert guard.unblock(IP) == 0
    assert fail(guard, [2.0, 3.0]) is None
    assert guard.suspension(IP, 3.0) is None


def test_a_suspension_starts_the_count_again() -> None:
    # findtime longer than bantime: the failures that caused the ban must not cause another.
    guard = Guard(SecurityPolicy(maxretry=3, findtime_seconds=600.0, bantime_seconds=60.0))
    assert fail(guard, [0.0, 1.0, 2.0]) is not None
    assert guard.suspension(IP, 62.0) is None
    assert fail(guard, [100.0, 101.0]) is None
    assert guard.record_failure(IP, 102.0) is not None


def test_unblock_of_an_unknown_ip_counts_nothing() -> None:
    assert Guard(POLICY).unblock("192.0.2.1") == 0


def test_unblock_all_lifts_every_suspension_and_forgets_failures() -> None:
    guard = Guard(POLICY)
    fail(guard, [0.0, 1.0, 2.0], ip="10.0.0.1")
    fail(guard, [0.0, 1.0, 2.0], ip="10.0.0.2")
    fail(guard, [0.0, 1.0], ip="10.0.0.3")
    assert guard.unblock_all() == 2
    assert guard.suspensions(3.0) == []
    assert guard.record_failure("10.0.0.3", 3.0) is None


def test_suspensions_are_listed_oldest_first_without_expired_ones() -> None:
    guard = Guard(POLICY)
    fail(guard, [50.0, 51.0, 52.0], ip="10.0.0.2")
    fail(guard, [0.0, 1.0, 2.0], ip="10.0.0.1")
    assert [s.ip for s in guard.suspensions(100.0)] == ["10.0.0.1", "10.0.0.2"]
    assert [s.ip for s in guard.suspensions(310.0)] == ["10.0.0.2"]


def test_suspensions_given_to_the_constructor_are_honoured() -> None:
    saved = Suspension(IP, since_seconds=1000.0, until_seconds=1300.0, failures=3)
    guard = Guard(POLICY, [saved])
    assert guard.suspension(IP, 1299.0) == saved
    assert guard.suspensions(1299.0) == [saved]
    assert guard.suspension(IP, 1300.0) is None


def test_suspensions_given_to_the_constructor_can_be_unblocked() -> None:
    guard = Guard(POLICY, [Suspension(IP, 0.0, 300.0, 3)])
    assert guard.unblock(IP) == 1
    assert guard.suspension(IP, 1.0) is None


def test_default_policy_is_five_failures_in_ten_minutes_for_ten_minutes() -> None:
    assert SecurityPolicy() == SecurityPolicy(5, 600.0, 600.0)
    guard = Guard(SecurityPolicy())
    assert fail(guard, [0.0, 1.0, 2.0, 3.0]) is None
    suspension = guard.record_failure(IP, 4.0)
    assert suspension is not None
    assert suspension.until_seconds == 604.0


def test_reading_on_a_clock_ahead_never_lifts_a_suspension() -> None:
    """Issue 12: a school read suspensions on real time before the controller pushed the
    simulated one, and each read deleted them for good."""
    guard = Guard(POLICY)
    suspension = fail(guard, [100.0, 101.0, 102.0])
    assert suspension is not None
    far_ahead = 10_000_000.0
    assert guard.suspension(IP, far_ahead) is None
    assert guard.suspensions(far_ahead) == []
    assert guard.suspension(IP, 103.0) == suspension  # back on the right time: still banned
    assert guard.suspensions(103.0) == [suspension]


def test_expired_suspensions_are_pruned_on_a_write() -> None:
    guard = Guard(POLICY)
    fail(guard, [0.0, 1.0, 2.0])
    fail(guard, [1000.0, 1001.0, 1002.0], ip="10.0.0.8")
    assert [s.ip for s in guard.suspensions(1003.0)] == ["10.0.0.8"]
    assert guard.suspension(IP, 3.0) is None  # pruned at 1002.0: gone even on an older clock
