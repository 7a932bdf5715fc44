"""One exception root for the load generator; the CLI prints the message and exits."""

from __future__ import annotations


class LoadError(Exception):
    """A run that cannot start; the message says what to do instead."""


class InvalidPlan(LoadError):
    pass


class UnsafeTarget(LoadError):
    """A target outside the fleet's own addresses."""
