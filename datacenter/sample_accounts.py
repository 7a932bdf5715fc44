"""More sample accounts on a demo school, so a load test has distinct users to log in as.

Idempotent: asking for N accounts of a role creates only the missing ones (logins
`prof.load0002`, ...), adds them to the school's base through its management API, and
records them with the other sample accounts so `school show` and GetSchool list them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from common.secrets import new_password
from datacenter.errors import InvalidArgument, WrongState
from datacenter.registry import Registry, SampleAccount, SchoolRecord

MAX_ACCOUNTS_PER_ROLE = 1000
LOGIN_PREFIXES = {"administratif": "admin", "enseignant": "prof", "vie_scolaire": "cpe"}
ROLE_MODES = {role: role for role in LOGIN_PREFIXES}  # each role logs in its own mode
BATCH = 50

AddUser = Callable[[SchoolRecord, SampleAccount], Awaitable[None]]


class SampleAccounts:
    def __init__(self, registry: Registry, add_user: AddUser) -> None:
        self._registry = registry
        self._add_user = add_user
        self._locks: dict[str, asyncio.Lock] = {}

    async def ensure(self, uai: str, role: str, count: int) -> SchoolRecord:
        if role not in LOGIN_PREFIXES:
            raise InvalidArgument(
                f"role {role!r} does not exist: choose {', '.join(LOGIN_PREFIXES)}"
            )
        if not 1 <= count <= MAX_ACCOUNTS_PER_ROLE:
            raise InvalidArgument(
                f"ask for 1 to {MAX_ACCOUNTS_PER_ROLE} accounts of a role, not {count}"
            )
        async with self._locks.setdefault(uai, asyncio.Lock()):
            record = self._registry.get(uai)
            if not record.sample_accounts:
                raise WrongState(
                    f"school {uai} is not a demo school (no sample accounts); provision it "
                    "with demo=true (`pronote-dc up --demo N`)"
                )
            accounts = list(record.sample_accounts)
            missing = self._new_accounts(accounts, role, count)
            for start in range(0, len(missing), BATCH):
                batch = missing[start : start + BATCH]
                await asyncio.gather(*(self._add_user(record, a) for a in batch))
                accounts.extend(batch)  # recorded once they exist on the server
                self._registry.set_sample_accounts(uai, accounts)
            return self._registry.get(uai)

    @staticmethod
    def _new_accounts(accounts: list[SampleAccount], role: str, count: int) -> list[SampleAccount]:
        taken = {a.login for a in accounts}
        missing = count - sum(1 for a in accounts if a.role == role)
        new: list[SampleAccount] = []
        number = 1
        while len(new) < missing:
            number += 1
            login = f"{LOGIN_PREFIXES[role]}.load{number:04d}"
            if login not in taken:
                new.append(SampleAccount(role, ROLE_MODES[role], login, new_password()))
        return new
