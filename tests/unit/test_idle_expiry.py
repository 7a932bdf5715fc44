"""Idle sessions expire on a timer at their deadline (DESIGN decision 31), with nobody asking:
no timer while nobody is connected, one per deadline, following the driven clock's speed."""

from __future__ import annotations

import asyncio

from common.clock import DrivenClock
from tests.dates import at
from tests.unit.test_school import IDLE_SECONDS, Saves, connect, make_server
from vm_agent.adapters.expiry import IdleExpiry
from vm_agent.domain.modes import ADMINISTRATION_GROUP, Mode, UserKind
from vm_agent.domain.school import SchoolServer


def serving(clock: DrivenClock) -> SchoolServer:
    server = make_server(clock, Saves())  # type: ignore[arg-type]
    base = server.create_base("2026-2027")
    server.put_in_service(base.id, spr_login="spr", spr_password="spr-password")
    server.add_user("secr", "secr-pw", "Secrétariat", UserKind.PERSONNEL, ADMINISTRATION_GROUP)
    server.add_user("prof.a", "a-pw", "Prof A", UserKind.PROFESSEUR)
    return server


def test_a_session_left_idle_expires_on_its_timer_and_then_no_timer_is_left() -> None:
    async def run() -> None:
        clock = DrivenClock()
        # 1 real second is IDLE_SECONDS / 0.3 of the school's: the deadline comes in 0.3 s
        clock.drive(at("2026-09-01T08:00"), IDLE_SECONDS / 0.3)
        school = serving(clock)
        expiry = IdleExpiry(school, clock)
        assert expiry._timer is None  # nobody connected: nothing scheduled
        connect(school, Mode.ENSEIGNANT, "prof.a", "a-pw")
        assert expiry._timer is not None
        await asyncio.sleep(0.2)
        assert len(school.sessions) == 1
        await asyncio.sleep(0.3)
        assert len(school.sessions) == 0  # nobody asked: the timer expired it
        assert expiry._timer is None

    asyncio.run(run())


def test_a_frozen_clock_sets_no_timer_until_it_is_driven_past_the_deadline() -> None:
    async def run() -> None:
        clock = DrivenClock()
        clock.drive(at("2026-09-01T08:00"), 0.0)
        school = serving(clock)
        expiry = IdleExpiry(school, clock)
        connect(school, Mode.ENSEIGNANT, "prof.a", "a-pw")
        assert expiry._timer is None  # frozen time: nothing can expire
        clock.drive(at("2026-09-01T08:00") + IDLE_SECONDS + 1, 0.0)  # SetClock
        assert expiry._timer is not None
        await asyncio.sleep(0.1)
        assert len(school.sessions) == 0

    asyncio.run(run())


def test_a_session_in_use_is_kept_and_its_timer_moves_with_it() -> None:
    async def run() -> None:
        clock = DrivenClock()
        clock.drive(at("2026-09-01T08:00"), IDLE_SECONDS / 0.4)
        school = serving(clock)
        IdleExpiry(school, clock)
        session = connect(school, Mode.ENSEIGNANT, "prof.a", "a-pw")
        for _ in range(4):
            await asyncio.sleep(0.2)
            school.heartbeat(session.id)
        assert len(school.sessions) == 1  # 0.8 s: twice its idle time, but in use
        await asyncio.sleep(0.5)
        assert len(school.sessions) == 0

    asyncio.run(run())
