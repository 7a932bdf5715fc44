"""The named scenarios: each is a plan's defaults; options given on the command line win."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from loadtest.errors import InvalidPlan
from loadtest.plan import DEFAULT_MIX, LoadPlan, validate


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    defaults: LoadPlan


SCENARIOS = {
    s.name: s
    for s in [
        Scenario(
            "steady",
            "Steady state: users spread over the schools in a realistic mix of modes, ramped "
            "up, each opening sessions that heartbeat every think time, then reconnecting.",
            LoadPlan("steady", mix=DEFAULT_MIX, ramp_up_seconds=5.0, think_time_seconds=1.0),
        ),
        Scenario(
            "rush",
            "The 8 a.m. rush: every user is a distinct teacher and all connect at once (no "
            "ramp-up); teachers beyond the school's formula are refused (RESOURCE_EXHAUSTED).",
            LoadPlan("rush", mix=(("enseignant", 1.0),), ramp_up_seconds=0.0),
        ),
        Scenario(
            "licences",
            "Licence exhaustion: more administrators than licences en modification connect at "
            "once; those beyond the licences are refused (RESOURCE_EXHAUSTED) and retry after "
            "the think time.",
            LoadPlan("licences", mix=(("administratif", 1.0),), ramp_up_seconds=0.0),
        ),
        Scenario(
            "bruteforce",
            "Brute force: a few attacker IPs send wrong passwords while normal users work; "
            "after maxretry failures each attacker IP is suspended (PERMISSION_DENIED) and the "
            "other clients are unaffected.",
            LoadPlan(
                "bruteforce",
                mix=(("enseignant", 3.0), ("vie_scolaire", 1.0)),
                attackers=3,
                attempts_per_attacker=10,
                think_time_seconds=0.5,
            ),
        ),
        Scenario(
            "evening",
            "The evening rush after report cards are published: students and parents log in "
            "to PRONOTE.net (espaces eleve and parent, encryption and compression on) within "
            "a short ramp-up, read this week's timetable and the period's grades, re-read the "
            "grades every think time, then leave.",
            LoadPlan(
                "evening",
                mix=(("eleve", 1.0), ("parent", 2.0)),
                ramp_up_seconds=10.0,
                think_time_seconds=2.0,
                session_length_seconds=8.0,
            ),
        ),
        Scenario(
            "mobile",
            "7 p.m. on the phones: students and parents open the PRONOTE app, which reads "
            "infoMobileApp.json, logs in with the device's token (the first time with the "
            "password), then reads the home page, the week's timetable, the marks and the "
            "messages, marks a news read and ticks a homework done (refused for parents); "
            "latencies per call (app_*), refusals with the server's reason.",
            LoadPlan(
                "mobile",
                mix=(("eleve", 1.0), ("parent", 2.0)),
                ramp_up_seconds=10.0,
                think_time_seconds=2.0,
            ),
        ),
    ]
}


def build_plan(scenario: str, **given: Any) -> LoadPlan:
    """The scenario's plan with the options that were given (not None) replacing its defaults."""
    if scenario not in SCENARIOS:
        raise InvalidPlan(f"scenario {scenario!r} does not exist: choose {', '.join(SCENARIOS)}")
    overrides = {name: value for name, value in given.items() if value is not None}
    return validate(dataclasses.replace(SCENARIOS[scenario].defaults, **overrides))
