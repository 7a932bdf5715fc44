"""One exception root for the controller; the console adapter maps each to a gRPC status."""

from __future__ import annotations


class DatacenterError(Exception):
    """Every refusal of the controller; the message says what to do next."""


class InvalidArgument(DatacenterError):
    pass


class NotFound(DatacenterError):
    pass


class AlreadyExists(DatacenterError):
    pass


class Exhausted(DatacenterError):
    """A pool ran out (addresses)."""


class Unauthenticated(DatacenterError):
    pass


class Forbidden(DatacenterError):
    pass


class WrongState(DatacenterError):
    pass


class Unavailable(DatacenterError):
    """A school server is down or did not start."""


class TimedOut(Unavailable):
    """A school server gave no answer in time (a loaded machine, most often): trying again
    may succeed."""
