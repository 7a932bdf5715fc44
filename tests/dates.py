"""Dates written as tests read them: '2026-09-01' or '2026-09-01T08:00' is UTC."""

from __future__ import annotations

import datetime


def at(text: str) -> float:
    """Unix seconds of an ISO date or date-time taken as UTC."""
    return datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.UTC).timestamp()
