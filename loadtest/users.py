"""Cast the simulated users: who each one is, which school, which mode, which source address."""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from loadtest.errors import InvalidPlan
from loadtest.plan import ROLE_OF_MODE, LoadPlan, apportion
from loadtest.targets import Account, Target

WRONG_PASSWORD = "not-the-password"


@dataclass(frozen=True)
class VirtualUser:
    number: int
    target: Target
    mode: str
    account: Account
    source_ip: str | None  # None: the machine's own address (no relay)
    attacker: bool = False

    @property
    def password(self) -> str:
        return WRONG_PASSWORD if self.attacker else self.account.password


def assignments(plan: LoadPlan, targets: Sequence[Target]) -> list[tuple[Target, str]]:
    """(school, mode) of each user: users spread evenly over the schools, each school's users
    in the mix's proportions, interleaved so a ramp-up reaches every school early."""
    count = len(targets)
    shares = [plan.users // count + (1 if i < plan.users % count else 0) for i in range(count)]
    modes = [apportion(plan.mix, share) for share in shares]
    return [
        (target, school_modes[k])
        for k in range(max(shares, default=0))
        for target, school_modes in zip(targets, modes, strict=True)
        if k < len(school_modes)
    ]


def accounts_needed(plan: LoadPlan, targets: Sequence[Target]) -> dict[tuple[str, str], int]:
    """(uai, role) -> how many distinct accounts the plan's users would log in as."""
    needed: Counter[tuple[str, str]] = Counter()
    for target, mode in assignments(plan, targets):
        needed[(target.uai, ROLE_OF_MODE[mode])] += 1
    return dict(needed)


def cast(plan: LoadPlan, targets: Sequence[Target], source_pool: str | None) -> list[VirtualUser]:
    """Users round-robin over the schools, modes in the mix's proportions, each user its own
    account (while the school has enough) and its own source address."""
    sources = _source_addresses(source_pool, plan.users + plan.attackers)
    taken: Counter[tuple[str, str]] = Counter()
    users = []
    for index, (target, mode) in enumerate(assignments(plan, targets)):
        role = ROLE_OF_MODE[mode]
        accounts = target.accounts_of(role)
        if not accounts:
            raise InvalidPlan(
                f"school {target.uai} has no {role} sample account to log in as; load runs "
                "need demo schools (`pronote-dc up --demo N`)"
            )
        account = accounts[taken[(target.uai, role)] % len(accounts)]
        taken[(target.uai, role)] += 1
        users.append(VirtualUser(index, target, mode, account, next(sources, None)))
    for number in range(plan.attackers):
        target = targets[number % len(targets)]
        victims = target.accounts_of("administratif") or list(target.accounts)
        users.append(
            VirtualUser(
                plan.users + number, target, "administratif", victims[0], next(sources, None), True
            )
        )
    return users


def _source_addresses(source_pool: str | None, count: int) -> Iterator[str]:
    if source_pool is None:
        return iter(())
    try:
        network = ipaddress.ip_network(source_pool, strict=False)
    except ValueError:
        raise InvalidPlan(
            f"--source-pool {source_pool!r} is not a network such as 127.91.0.0/16"
        ) from None
    if not network.is_loopback:
        raise InvalidPlan(f"--source-pool {source_pool} must be inside 127.0.0.0/8 (loopback)")
    if network.num_addresses - 2 < count:
        raise InvalidPlan(
            f"--source-pool {source_pool} has fewer than {count} addresses, one per simulated "
            "client; give a larger one"
        )
    return (str(ip) for ip in network.hosts())
