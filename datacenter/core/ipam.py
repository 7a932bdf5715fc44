"""Addresses for schools, leased from a configured pool (DESIGN decision 2): never derived from
a hash, always recorded in the registry, released when the school goes."""

from __future__ import annotations

import ipaddress
import socket
import sqlite3

from datacenter.core.errors import Exhausted, InvalidArgument
from datacenter.core.registry import Registry


def pool_network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """The pool's network; InvalidArgument, saying how to write it, if `cidr` is not one."""
    try:
        return ipaddress.ip_network(cidr, strict=True)
    except ValueError as error:
        raise InvalidArgument(
            f"address pool {cidr!r} is not a network ({error}); write it like 127.51.0.0/16"
        ) from None


def _leasable(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> range:
    """The addresses (as integers) a school can be given: all but the network and broadcast
    addresses (a /31 or /32: all of them)."""
    first, last = int(network.network_address), int(network.broadcast_address)
    if network.num_addresses > 2:
        first, last = first + 1, last - 1
    return range(first, last + 1)


def capacity(cidr: str) -> int:
    """How many schools the pool `cidr` can lease addresses to (`_leasable`). InvalidArgument
    as `pool_network`."""
    leasable = _leasable(pool_network(cidr))
    return leasable.stop - leasable.start  # not len(): an IPv6 pool overflows it


class AddressPool:
    def __init__(
        self, cidr: str, registry: Registry, reserved: frozenset[str] = frozenset()
    ) -> None:
        self.network = pool_network(cidr)
        self._registry = registry
        self._family = socket.AF_INET if self.network.version == 4 else socket.AF_INET6
        self._reserved = {self._int(a) for a in reserved}  # e.g. bridge gateways

    def _int(self, address: str) -> int:
        """The address as an integer. `socket.inet_pton` rather than `ipaddress.ip_address`:
        every allocation reads every lease, and at 2000 schools the latter was a quarter of the
        controller's event-loop time during a wave (py-spy, PERFORMANCE.md)."""
        return int.from_bytes(socket.inet_pton(self._family, address), "big")

    def allocate(self, uai: str, now_seconds: float, db: sqlite3.Connection) -> str:
        """Lease the lowest free address to `uai`, inside the caller's transaction. Reads every
        lease (~0.5 ms at 1000 schools): the registry is the only record of what is free."""
        taken = {self._int(a) for a in self._registry.leased_addresses(db)}
        taken |= self._reserved
        for candidate in _leasable(self.network):
            if candidate not in taken:
                address = str(ipaddress.ip_address(candidate))
                self._registry.add_lease(address, uai, now_seconds, db)
                return address
        raise Exhausted(
            f"the address pool {self.network} is full ({len(taken)} schools); deprovision a "
            "school or configure a larger pool (PRONOTE_DC_ADDRESS_POOL / --address-pool)"
        )

    def contains(self, address: str) -> bool:
        return ipaddress.ip_address(address) in self.network
