"""The data-center's console, as the load generator needs it (gRPC adapter, operator token).

Targets come from the controller, never from the command line: the addresses are the ones it
leased. Missing sample accounts are created through the console's EnsureSampleAccounts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grpc

from loadtest.errors import LoadError
from loadtest.plan import LoadPlan
from loadtest.targets import Account, Target
from loadtest.users import accounts_needed
from protos import console_pb2, console_pb2_grpc

MAX_ACCOUNTS_PER_ROLE = 1000
CALL_TIMEOUT_SECONDS = 120.0


def target_of(school: Any) -> Target:
    return Target(
        uai=school.uai,
        name=school.name,
        address=school.address,
        port=school.client_port,
        accounts=tuple(Account(a.role, a.login, a.password) for a in school.sample_accounts),
    )


class FleetConsole:
    def __init__(self, address: str, token: str) -> None:
        self._channel = grpc.insecure_channel(address)
        self._stub = console_pb2_grpc.ConsoleStub(self._channel)
        self._metadata = (("authorization", f"Bearer {token}"),)

    def _call(self, method: str, request: Any) -> Any:
        try:
            return getattr(self._stub, method)(
                request, metadata=self._metadata, timeout=CALL_TIMEOUT_SECONDS
            )
        except grpc.RpcError as error:
            code = error.code()
            if code is grpc.StatusCode.UNAVAILABLE and not error.details():
                raise LoadError(
                    "cannot reach the controller; is it running? (`pronote-dc up`)"
                ) from None
            raise LoadError(f"{error.details()} [{code.name}]") from None

    def schools(self) -> list[Target]:
        return [
            target_of(s)
            for s in self._call("ListSchools", console_pb2.ListSchoolsRequest()).schools
        ]

    def ensure_accounts(self, uai: str, role: str, count: int) -> Target:
        request = console_pb2.EnsureSampleAccountsRequest(uai=uai, role=role, count=count)
        return target_of(self._call("EnsureSampleAccounts", request))

    def close(self) -> None:
        self._channel.close()


def prepare_accounts(
    console: FleetConsole, plan: LoadPlan, targets: Sequence[Target]
) -> list[Target]:
    """One account per simulated user where the school lacks them (up to 1000 per role)."""
    by_uai = {t.uai: t for t in targets}
    for (uai, role), count in sorted(accounts_needed(plan, targets).items()):
        wanted = min(count, MAX_ACCOUNTS_PER_ROLE)
        if len(by_uai[uai].accounts_of(role)) < wanted:
            by_uai[uai] = console.ensure_accounts(uai, role, wanted)
    return [by_uai[t.uai] for t in targets]
