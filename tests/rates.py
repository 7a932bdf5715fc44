"""Rates a tier measures (injections per minute, fuzz cases per second), shown at the end of
every pytest run, `-q` and captured output included (issue 12: "printed by the tiers")."""

from __future__ import annotations

RATES: list[str] = []


def report(line: str) -> None:
    """Print `line` (seen with -s) and keep it for the run's closing summary."""
    print(f"\n{line}")
    RATES.append(line)
