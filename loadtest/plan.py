"""What a load run does: how many simulated users, which modes, how long, and its bounds.

Every run is bounded: by `duration_seconds`, by `sessions` (session attempts of the simulated
users), or both, and never beyond the hard limits below whatever is asked.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from loadtest.errors import InvalidPlan

MODES = ("administratif", "enseignant", "vie_scolaire", "edt", "eleve", "parent")
WEB_MODES = ("eleve", "parent")  # PRONOTE.net users (espaces), not Client PRONOTE
# The sample-account role each mode logs in as (Client EDT is used by administrative staff).
ROLE_OF_MODE = {
    "administratif": "administratif",
    "enseignant": "enseignant",
    "vie_scolaire": "vie_scolaire",
    "edt": "administratif",
    "eleve": "eleve",
    "parent": "parent",
}
MAX_DURATION_SECONDS = 3600.0
MAX_SESSIONS = 1_000_000
MAX_USERS = 5000
MAX_ATTACKERS = 100
MAX_ATTEMPTS_PER_ATTACKER = 1000
DEFAULT_MIX = (("administratif", 1.0), ("enseignant", 6.0), ("vie_scolaire", 2.0), ("edt", 1.0))


@dataclass(frozen=True)
class LoadPlan:
    scenario: str = "steady"
    users: int = 10
    duration_seconds: float | None = None
    sessions: int | None = None
    ramp_up_seconds: float = 0.0
    think_time_seconds: float = 1.0
    session_length_seconds: float = 10.0
    mix: tuple[tuple[str, float], ...] = DEFAULT_MIX
    attackers: int = 0
    attempts_per_attacker: int = 10
    seed: int = 0
    notes: tuple[str, ...] = field(default=())

    @property
    def deadline_seconds(self) -> float:
        """The run stops at this elapsed time at the latest."""
        return min(self.duration_seconds or MAX_DURATION_SECONDS, MAX_DURATION_SECONDS)

    @property
    def session_budget(self) -> int:
        return min(self.sessions or MAX_SESSIONS, MAX_SESSIONS)

    def to_dict(self) -> dict[str, object]:
        values = dataclasses.asdict(self)
        values["mix"] = dict(self.mix)
        values["notes"] = list(self.notes)
        return values


def validate(plan: LoadPlan) -> LoadPlan:
    """Refuse unbounded or impossible runs with a message saying what to give instead."""
    if plan.duration_seconds is None and plan.sessions is None:
        raise InvalidPlan(
            "an unbounded run is refused: give --duration SECONDS and/or --sessions COUNT "
            f"(at most {MAX_DURATION_SECONDS:.0f} s and {MAX_SESSIONS} sessions)"
        )
    if plan.duration_seconds is not None and not 0 < plan.duration_seconds <= MAX_DURATION_SECONDS:
        raise InvalidPlan(f"--duration must be between 0 and {MAX_DURATION_SECONDS:.0f} seconds")
    if plan.sessions is not None and not 0 < plan.sessions <= MAX_SESSIONS:
        raise InvalidPlan(f"--sessions must be between 1 and {MAX_SESSIONS}")
    if not 0 <= plan.users <= MAX_USERS:
        raise InvalidPlan(f"--users must be between 0 and {MAX_USERS} simulated clients")
    if plan.users == 0 and plan.attackers == 0:
        raise InvalidPlan("nothing to simulate: give --users (and/or --attackers) above 0")
    if not 0 <= plan.attackers <= MAX_ATTACKERS:
        raise InvalidPlan(f"--attackers must be between 0 and {MAX_ATTACKERS}")
    if not 1 <= plan.attempts_per_attacker <= MAX_ATTEMPTS_PER_ATTACKER:
        raise InvalidPlan(
            f"--attempts-per-attacker must be between 1 and {MAX_ATTEMPTS_PER_ATTACKER}"
        )
    for name in ("ramp_up_seconds", "think_time_seconds", "session_length_seconds"):
        value = getattr(plan, name)
        if not 0 <= value <= MAX_DURATION_SECONDS:
            flag = "--" + name.removesuffix("_seconds").replace("_", "-")
            raise InvalidPlan(f"{flag} must be between 0 and {MAX_DURATION_SECONDS:.0f} seconds")
    unknown = [mode for mode, _ in plan.mix if mode not in MODES]
    if unknown:
        raise InvalidPlan(f"mode {unknown[0]!r} does not exist: choose {', '.join(MODES)}")
    if any(weight < 0 for _, weight in plan.mix) or sum(w for _, w in plan.mix) <= 0:
        raise InvalidPlan("give the mix positive weights, e.g. enseignant=6,vie_scolaire=2")
    return plan


def parse_mix(text: str) -> tuple[tuple[str, float], ...]:
    """`administratif=1,enseignant=6` -> (("administratif", 1.0), ("enseignant", 6.0))."""
    pairs = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        mode, sep, weight = item.partition("=")
        mode = mode.strip().lower().replace(" ", "_").replace("-", "_")
        try:
            value = float(weight) if sep else 1.0
        except ValueError:
            raise InvalidPlan(
                f"weight {weight!r} of {mode} is not a number; write mode=weight"
            ) from None
        pairs.append((mode, value))
    if not pairs:
        raise InvalidPlan("give the mix as mode=weight pairs, e.g. enseignant=6,vie_scolaire=2")
    return tuple(pairs)


def apportion(mix: tuple[tuple[str, float], ...], count: int) -> list[str]:
    """`count` modes in the mix's proportions (largest remainders), interleaved."""
    total = sum(weight for _, weight in mix)
    shares = [(mode, count * weight / total) for mode, weight in mix if weight > 0]
    counts = {mode: int(share) for mode, share in shares}
    by_remainder = sorted(shares, key=lambda item: item[1] - int(item[1]), reverse=True)
    for mode, _ in by_remainder[: count - sum(counts.values())]:
        counts[mode] += 1
    modes: list[str] = []
    while len(modes) < count:  # round-robin so each school gets a share of every mode
        for mode, _ in shares:
            if counts[mode]:
                modes.append(mode)
                counts[mode] -= 1
    return modes
