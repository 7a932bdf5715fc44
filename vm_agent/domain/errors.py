"""One exception root for the school server; the adapters map each kind to a gRPC status."""

from __future__ import annotations


class AgentError(Exception):
    """Every refusal the school server gives; the message says what to do next."""


class InvalidArgument(AgentError):
    pass


class NotFound(AgentError):
    pass


class AlreadyExists(AgentError):
    pass


class WrongState(AgentError):
    """The operation needs the server in another state (e.g. stopped before creating a base)."""


class BadCredentials(AgentError):
    pass


class Forbidden(AgentError):
    """A suspended IP, or a user who may not connect in the mode asked for."""


class LicencesExhausted(AgentError):
    pass
