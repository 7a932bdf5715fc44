"""Suspension of IPs after failed logins, with fail2ban's semantics (the schools' Client PRONOTE
and PRONOTE.net logins, and the controller's console login).

A failure is counted per source IP. When `maxretry` failures fall within `findtime`, the IP is
suspended for `bantime`. Unblocking lifts the suspension and forgets the failures.
Suspensions are state that survives a restart; the failure counts are not.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class SecurityPolicy:
    maxretry: int = 5
    findtime_seconds: float = 600.0
    bantime_seconds: float = 600.0


@dataclass
class Suspension:
    ip: str
    since_seconds: float
    until_seconds: float
    failures: int


class Guard:
    def __init__(self, policy: SecurityPolicy, suspensions: list[Suspension] | None = None):
        self.policy = policy
        self._failures: dict[str, deque[float]] = {}
        self._suspensions = {s.ip: s for s in suspensions or []}

    def suspension(self, ip: str, now_seconds: float) -> Suspension | None:
        """The IP's suspension in force at `now_seconds`. Reading never deletes one (issue 12,
        point 3): a read on a clock behind the data-center's must not lift a ban for good."""
        suspension = self._suspensions.get(ip)
        if suspension is not None and suspension.until_seconds <= now_seconds:
            return None
        return suspension

    def record_failure(self, ip: str, now_seconds: float) -> Suspension | None:
        """Count a failed login; return the new suspension if this failure caused one."""
        window = self._failures.setdefault(ip, deque())
        window.append(now_seconds)
        while window and window[0] <= now_seconds - self.policy.findtime_seconds:
            window.popleft()
        if len(window) < self.policy.maxretry:
            return None
        suspension = Suspension(
            ip=ip,
            since_seconds=now_seconds,
            until_seconds=now_seconds + self.policy.bantime_seconds,
            failures=len(window),
        )
        self._prune(now_seconds)  # expired ones go on a write, never on a read
        self._suspensions[ip] = suspension
        del self._failures[ip]
        return suspension

    def suspensions(self, now_seconds: float) -> list[Suspension]:
        """The suspensions in force at `now_seconds`, oldest first; expired ones are kept."""
        live = [s for s in self._suspensions.values() if s.until_seconds > now_seconds]
        return sorted(live, key=lambda s: s.since_seconds)

    def _prune(self, now_seconds: float) -> None:
        expired = [ip for ip, s in self._suspensions.items() if s.until_seconds <= now_seconds]
        for ip in expired:
            del self._suspensions[ip]

    def unblock(self, ip: str) -> int:
        self._failures.pop(ip, None)
        return 1 if self._suspensions.pop(ip, None) is not None else 0

    def unblock_all(self) -> int:
        count = len(self._suspensions)
        self._suspensions.clear()
        self._failures.clear()
        return count
