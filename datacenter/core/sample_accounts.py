"""More sample accounts on a demo school, so a load test has distinct users to log in as.

Idempotent: asking for N accounts of a role creates only the missing ones and records them
with the other sample accounts so `school show` and GetSchool list them. Client PRONOTE roles
(administratif, enseignant, vie_scolaire) get users added to the school's base (logins
`prof.load0002`, ...); PRONOTE.net roles (eleve, parent) are people of the school's synthetic
school, who are issued passwords (as many as the school has).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from common.secrets import new_password
from datacenter.core.demo import SYNTHETIC_ROLES, synthetic_account
from datacenter.core.errors import InvalidArgument, WrongState
from datacenter.core.registry import Registry, SampleAccount, SchoolRecord

MAX_ACCOUNTS_PER_ROLE = 1000
LOGIN_PREFIXES = {"administratif": "admin", "enseignant": "prof", "vie_scolaire": "cpe"}
ROLE_MODES = {role: role for role in LOGIN_PREFIXES}  # each role logs in its own mode
PEOPLE_ROLES = {"eleve": "élèves", "parent": "responsables"}  # people of the school
ROLES = [*LOGIN_PREFIXES, *PEOPLE_ROLES]
BATCH = 50
PEOPLE_BATCH = 500  # passwords issued in one call: one generation of the school's people

AddUser = Callable[[SchoolRecord, SampleAccount], Awaitable[None]]
# (school, kind of person, how many) -> (their logins in the school's order, how many exist)
FindPeople = Callable[[SchoolRecord, str, int], Awaitable[tuple[list[str], int]]]
IssuePasswords = Callable[[SchoolRecord, list[SampleAccount]], Awaitable[None]]


class SampleAccounts:
    def __init__(
        self,
        registry: Registry,
        add_user: AddUser,
        find_people: FindPeople,
        issue_passwords: IssuePasswords,
    ) -> None:
        self._registry = registry
        self._add_user = add_user
        self._find_people = find_people
        self._issue_passwords = issue_passwords
        self._locks: dict[str, asyncio.Lock] = {}

    async def ensure(self, uai: str, role: str, count: int) -> SchoolRecord:
        if role not in ROLES:
            raise InvalidArgument(f"role {role!r} does not exist: choose {', '.join(ROLES)}")
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
            if role in PEOPLE_ROLES:
                missing = await self._new_people(record, accounts, role, count)
            else:
                missing = self._new_accounts(accounts, role, count)
            size = PEOPLE_BATCH if role in PEOPLE_ROLES else BATCH
            for start in range(0, len(missing), size):
                batch = missing[start : start + size]
                await self._create(record, role, batch)
                accounts.extend(batch)  # recorded once they exist on the server
                self._registry.set_sample_accounts(uai, accounts)
            return self._registry.get(uai)

    async def _create(self, record: SchoolRecord, role: str, batch: list[SampleAccount]) -> None:
        if role in PEOPLE_ROLES:
            await self._issue_passwords(record, batch)
        else:
            await asyncio.gather(*(self._add_user(record, a) for a in batch))

    async def _new_people(
        self, record: SchoolRecord, accounts: list[SampleAccount], role: str, count: int
    ) -> list[SampleAccount]:
        kind = SYNTHETIC_ROLES[role][0]
        logins, total = await self._find_people(record, kind, count)
        if count > total:
            raise InvalidArgument(
                f"school {record.uai} has {total} {PEOPLE_ROLES[role]}: ask for at most "
                f"{total} {role} accounts"
            )
        have = {a.login for a in accounts if a.role == role}
        wanted = count - len(have)
        fresh = [login for login in logins if login not in have][: max(wanted, 0)]
        return [synthetic_account(role, login) for login in fresh]

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
                new.append(
                    SampleAccount(role, ROLE_MODES[role], login, new_password(), ("client",))
                )
        return new
