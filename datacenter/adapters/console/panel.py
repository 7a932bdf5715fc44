"""What every panel mixed into ConsoleService may call: ConsoleService provides them."""

from __future__ import annotations

from typing import Any

import grpc

from datacenter.adapters.agents import AgentDirectory
from datacenter.core.auth import Principal
from datacenter.core.registry import SchoolRecord


class ConsolePanel:
    _agents: AgentDirectory

    def _principal(self, context: grpc.aio.ServicerContext[Any, Any]) -> Principal:
        """Who calls (a school's login or the operator); UNAUTHENTICATED otherwise."""
        raise NotImplementedError

    def _school(self, context: grpc.aio.ServicerContext[Any, Any], uai: str) -> SchoolRecord:
        """The school a per-school call acts on, once the caller may act on it."""
        raise NotImplementedError

    async def _forward(
        self, context: grpc.aio.ServicerContext[Any, Any], uai: str, method: str, request: Any
    ) -> Any:
        """Authorize, then make the same call on the school's agent."""
        raise NotImplementedError
