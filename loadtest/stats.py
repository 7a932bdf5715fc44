"""What a run measured: every RPC's latency and outcome, sessions, refusals, per school.

Latencies are kept whole (a run is bounded), so percentiles are exact (nearest rank).
A refusal is a Connect the server answered with a status it uses to turn a session down;
anything else that failed (transport errors, timeouts, expired sessions) is an error.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

REFUSAL_CODES = {
    "UNAUTHENTICATED",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
}
# Operations that open a session: a refusal is an answer, not an error.
SESSION_OPERATIONS = {"connect", "web_login"}
# A short reason from the server's message, so refusals of one kind add up.
_REASONS = [
    ("suspended", "IP suspended"),
    ("teacher licences", "teacher licences in use"),
    ("reserved for the Administration", "licences reserved for the Administration"),
    ("licences en modification are in use", "licences en modification in use"),
    ("wrong login or password", "wrong login or password"),
    ("cannot connect in mode", "mode not allowed for this user"),
    ("server is stopped", "server stopped"),
    ("Identifiant ou mot de passe incorrect", "wrong login or password"),
    ("adresse IP est provisoirement suspendue", "IP suspended"),
    ("expir", "session expired or disconnected"),
    ("no such session", "session expired or disconnected"),
    ("Deadline Exceeded", "deadline exceeded"),
]


def reason_of(details: str) -> str:
    for needle, reason in _REASONS:
        if needle in details:
            return reason
    first = details.split(";")[0].strip()
    return first[:80] or "no details"


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass
class SchoolStats:
    users: int = 0
    attempted: int = 0
    opened: int = 0
    refused: int = 0
    attacker_attempts: int = 0
    attacker_refused: int = 0
    rpcs: int = 0
    errors: int = 0
    suspended_sources: set[str] = field(default_factory=set)


class Recorder:
    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.calls: Counter[tuple[str, str]] = Counter()  # (operation, code)
        self.refusals: Counter[tuple[str, str, str]] = Counter()  # (who, code, reason)
        self.errors: Counter[tuple[str, str, str]] = Counter()  # (operation, code, reason)
        self.schools: dict[str, SchoolStats] = defaultdict(SchoolStats)
        self.attempted = 0
        self.opened = 0
        self.refused = 0
        self.failed = 0
        self.active = 0
        self.attacker_attempts = 0
        self.attacker_refused = 0
        self.rpcs = 0
        self.error_count = 0

    def rpc(self, uai: str, operation: str, seconds: float, code: str, details: str = "") -> None:
        """One RPC that came back (or failed) after `seconds`."""
        self.rpcs += 1
        self.calls[(operation, code)] += 1
        school = self.schools[uai]
        school.rpcs += 1
        opens = operation in SESSION_OPERATIONS
        answered = code == "OK" or (opens and code in REFUSAL_CODES)
        if answered:
            self.latencies[operation].append(seconds)
        elif not opens:
            self._error(school, operation, code, details)

    def connect(
        self,
        uai: str,
        code: str,
        details: str,
        source_ip: str,
        attacker: bool,
        operation: str = "connect",
    ) -> None:
        """The outcome of one session attempt (after `rpc` recorded the call itself)."""
        school = self.schools[uai]
        if attacker:
            self.attacker_attempts += 1
            school.attacker_attempts += 1
        else:
            self.attempted += 1
            school.attempted += 1
        if code == "OK":
            self.opened += 1
            school.opened += 1
            self.active += 1
        elif code in REFUSAL_CODES:
            reason = reason_of(details)
            self.refusals[("attackers" if attacker else "users", code, reason)] += 1
            if attacker:
                self.attacker_refused += 1
                school.attacker_refused += 1
            else:
                self.refused += 1
                school.refused += 1
            if reason == "IP suspended":
                school.suspended_sources.add(source_ip)
        else:
            self.failed += 1
            self._error(school, operation, code, details)

    def _error(self, school: SchoolStats, operation: str, code: str, details: str) -> None:
        self.error_count += 1
        school.errors += 1
        self.errors[(operation, code, reason_of(details))] += 1

    def operation_rows(self) -> list[dict[str, object]]:
        rows = []
        for operation in sorted({op for op, _ in self.calls}):
            values = sorted(self.latencies.get(operation, []))
            calls = sum(n for (op, _), n in self.calls.items() if op == operation)
            rows.append(
                {
                    "operation": operation,
                    "calls": calls,
                    "ok": self.calls[(operation, "OK")],
                    "not_ok": calls - self.calls[(operation, "OK")],
                    "p50_ms": _ms(percentile(values, 0.50)),
                    "p95_ms": _ms(percentile(values, 0.95)),
                    "p99_ms": _ms(percentile(values, 0.99)),
                    "max_ms": _ms(values[-1] if values else 0.0),
                }
            )
        return rows


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)
