"""Live Client PRONOTE sessions: idle expiry, heartbeats, removal."""

from __future__ import annotations

import pytest

from vm_agent.domain.errors import NotFound
from vm_agent.domain.modes import Mode
from vm_agent.domain.sessions import Session, SessionTable, new_session_id


def session(
    session_id: str, last_seen_seconds: float = 0.0, mode: Mode = Mode.ENSEIGNANT
) -> Session:
    return Session(
        id=session_id,
        login="prof.a",
        display_name="Prof A",
        mode=mode,
        in_administration_group=False,
        source_ip="127.0.0.1",
        poste="poste-1",
        application="Client PRONOTE 2026",
        base_name="Base année 2026-2027.not",
        connected_at_seconds=last_seen_seconds,
        last_seen_seconds=last_seen_seconds,
    )


def test_added_sessions_are_listed_and_counted() -> None:
    table = SessionTable(idle_timeout_seconds=60.0)
    table.add(session("a"))
    table.add(session("b"))
    assert len(table) == 2
    assert {s.id for s in table} == {"a", "b"}
    assert table.get("a").id == "a"


def test_session_expires_after_idle_timeout() -> None:
    table = SessionTable(idle_timeout_seconds=60.0)
    table.add(session("a", last_seen_seconds=100.0))
    assert table.expire(159.0) == []
    assert [s.id for s in table.expire(160.0)] == ["a"]
    assert len(table) == 0
    with pytest.raises(NotFound):
        table.get("a")


def test_touch_extends_the_session() -> None:
    table = SessionTable(idle_timeout_seconds=60.0)
    table.add(session("a", last_seen_seconds=0.0))
    table.add(session("b", last_seen_seconds=0.0))
    assert table.touch("a", 50.0).last_seen_seconds == 50.0
    assert [s.id for s in table.expire(100.0)] == ["b"]
    assert [s.id for s in table] == ["a"]
    assert [s.id for s in table.expire(110.0)] == ["a"]


def test_touch_of_unknown_session_is_not_found() -> None:
    with pytest.raises(NotFound, match="connect again"):
        SessionTable(60.0).touch("nope", 1.0)


def test_remove_returns_the_session() -> None:
    table = SessionTable(60.0)
    table.add(session("a"))
    assert table.remove("a").id == "a"
    assert len(table) == 0


def test_remove_of_unknown_session_is_not_found() -> None:
    table = SessionTable(60.0)
    table.add(session("a"))
    table.remove("a")
    with pytest.raises(NotFound):
        table.remove("a")


def test_clear_counts_what_it_removed() -> None:
    table = SessionTable(60.0)
    table.add(session("a"))
    table.add(session("b"))
    assert table.clear() == 2
    assert list(table) == []


def test_iterating_while_removing_is_safe() -> None:
    table = SessionTable(60.0)
    for name in "abc":
        table.add(session(name))
    for each in table:
        table.remove(each.id)
    assert len(table) == 0


def test_state_says_whether_the_session_holds_a_modification_licence() -> None:
    assert session("a", mode=Mode.ADMINISTRATIF).state == "Connecté en modification"
    assert session("b", mode=Mode.EDT).state == "Connecté en modification"
    assert session("c", mode=Mode.ENSEIGNANT).state == "Connecté"


def test_session_ids_are_unique() -> None:
    assert len({new_session_id() for _ in range(100)}) == 100
