"""The docker runtime's address plan: the pool is cut into /22 bridges whose gateways are never
leased (no engine needed)."""

from __future__ import annotations

import pytest

from datacenter.core.ipam import AddressPool
from provisioning.docker import PoolRefused, shards_of


def test_a_large_pool_is_spread_over_22_bridges() -> None:
    shards = shards_of("172.30.0.0/16")
    assert len(shards) == 64
    assert [str(s.subnet) for s in shards[:2]] == ["172.30.0.0/22", "172.30.4.0/22"]
    assert shards[1].name == "pronote-dc-172.30.4.0-22"
    assert shards[1].gateway == "172.30.4.1"


def test_a_small_pool_is_one_bridge() -> None:
    (shard,) = shards_of("172.30.8.0/24")
    assert shard.reserved() == {"172.30.8.0", "172.30.8.1", "172.30.8.255"}


@pytest.mark.parametrize("pool", ["127.72.0.0/16", "8.8.8.0/24", "172.30.0.0/30", "fd00::/64"])
def test_pools_that_cannot_be_bridges_are_refused(pool: str) -> None:
    with pytest.raises(PoolRefused, match=r"PRONOTE_DC_ADDRESS_POOL=172\.30\.0\.0/22"):
        shards_of(pool)


class Leases:
    """The registry's lease table, in memory (the IPAM only reads and adds leases)."""

    def __init__(self) -> None:
        self.addresses: list[str] = []

    def leased_addresses(self, db: object) -> list[str]:
        return list(self.addresses)

    def add_lease(self, address: str, uai: str, now: float, db: object) -> None:
        self.addresses.append(address)


def test_the_ipam_never_leases_a_bridge_gateway() -> None:
    leases = Leases()
    reserved = frozenset(a for s in shards_of("172.30.0.0/21") for a in s.reserved())
    pool = AddressPool("172.30.0.0/21", leases, reserved)  # type: ignore[arg-type]
    leased = [pool.allocate(f"{n:07d}A", 0.0, None) for n in range(1025)]  # type: ignore[arg-type]
    assert leased[0] == "172.30.0.2"
    assert not reserved & set(leased)
    assert leased[-1].startswith("172.30.4.")  # past the first bridge: the second one
