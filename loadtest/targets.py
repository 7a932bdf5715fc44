"""Which schools a run targets, and the safety rule: only the fleet's own addresses.

A target must be an IP literal on loopback (the embedded runtime) or inside the data-center's
own address pool on a private network (its container network). Anything else is refused
before a single packet is sent.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from loadtest.errors import InvalidPlan, UnsafeTarget


@dataclass(frozen=True)
class Account:
    role: str
    login: str
    password: str


@dataclass(frozen=True)
class Target:
    uai: str
    name: str
    address: str
    port: int
    accounts: tuple[Account, ...] = field(default=())
    web_port: int = 8080  # PRONOTE.net

    def espace_url(self, espace: str) -> str:
        return f"http://{self.address}:{self.web_port}/pronote/{espace}.html"

    @property
    def endpoint(self) -> str:
        return f"{self.address}:{self.port}"

    def accounts_of(self, role: str) -> list[Account]:
        return [a for a in self.accounts if a.role == role]


def check_safe(target: Target, address_pool: str) -> None:
    """Refuse a target outside loopback and the fleet's (private) address pool."""
    try:
        ip = ipaddress.ip_address(target.address)
    except ValueError:
        raise UnsafeTarget(
            f"school {target.uai} has address {target.address!r}, not an IP address; the load "
            "generator only targets the data-center's own addresses"
        ) from None
    if ip.is_loopback:
        return
    try:
        pool = ipaddress.ip_network(address_pool, strict=False)
    except ValueError:
        pool = None
    if pool is not None and ip in pool and ip.is_private:
        return
    raise UnsafeTarget(
        f"school {target.uai} is at {ip}, outside the fleet's own addresses (loopback, or the "
        f"private address pool {address_pool}); refusing to send load there. Point "
        "PRONOTE_DC_ADDRESS_POOL at the data-center's network if this is one of its schools"
    )


def select(
    schools: Sequence[Target],
    uais: Sequence[str] = (),
    sample: int | None = None,
    seed: int = 0,
) -> list[Target]:
    """Every school, the listed ones, or a random sample of them (reproducible by seed)."""
    by_uai = {s.uai: s for s in schools}
    if uais:
        wanted = [u.strip().upper() for u in uais if u.strip()]
        unknown = [u for u in wanted if u not in by_uai]
        if unknown:
            raise InvalidPlan(
                f"no school {', '.join(unknown)} in this data-center; list them with "
                "`pronote-dc school list`"
            )
        chosen = [by_uai[u] for u in dict.fromkeys(wanted)]
    else:
        chosen = sorted(schools, key=lambda s: s.uai)
    if not chosen:
        raise InvalidPlan("the data-center has no school; start some with `pronote-dc up --demo 5`")
    if sample is not None:
        if not 1 <= sample <= len(chosen):
            raise InvalidPlan(f"--sample must be between 1 and {len(chosen)} (the schools chosen)")
        chosen = sorted(random.Random(seed).sample(chosen, sample), key=lambda s: s.uai)
    return chosen
