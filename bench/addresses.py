"""Each benchmark's own loopback addresses: a block of its own 127.N.0.0/16 that nothing holds
right now, so that benchmarks run beside `make demo` (127.51/16, ports 49400 and 49480), the
pytest plugin (127.86/16), each other and other people's runs of the same benchmark.

A block is free when no address of it can be refused a bind on the Client PRONOTE port
(49300, what every school binds first); the probe binds and closes at once, a few
microseconds an address, so even a /21 of 2000 schools costs milliseconds. A block taken
between the probe and the controller's start is refused by the controller itself (the
school's start fails): the benchmark then stops with that message, it never steals a port."""

from __future__ import annotations

import ipaddress
import random
import socket

CLIENT_PORT = 49300  # datacenter.core.settings.Settings.client_port


def prefix_for(addresses: int) -> int:
    """The smallest prefix length whose block holds `addresses` host addresses (at least /29)."""
    prefix = 29
    while prefix > 16 and 2 ** (32 - prefix) - 2 < addresses:
        prefix -= 1
    if 2 ** (32 - prefix) - 2 < addresses:
        raise ValueError(f"{addresses} addresses do not fit in a /16")
    return prefix


def is_free(block: ipaddress.IPv4Network, port: int = CLIENT_PORT) -> bool:
    """True when every host address of `block` can bind `port` right now."""
    for address in block.hosts():
        with socket.socket() as sock:
            try:
                sock.bind((str(address), port))
            except OSError:
                return False
    return True


def free_pool(second_octet: int, addresses: int, exclude: str = "", attempts: int = 64) -> str:
    """A random block of 127.<second_octet>.0.0/16 with room for `addresses` schools, none of
    them bound on the Client PRONOTE port and none in `exclude` (a network the benchmark uses
    for something else): "127.N.x.y/p". Raises SystemExit (the benchmark stops, saying why)
    when `attempts` random blocks were all in use."""
    if not 1 <= second_octet <= 254:
        raise SystemExit(f"the pool's second octet must be 1 to 254, not {second_octet}")
    prefix = prefix_for(addresses)
    space = ipaddress.IPv4Network(f"127.{second_octet}.0.0/16")
    size = 2 ** (32 - prefix)
    for _ in range(attempts):
        start = int(space.network_address) + size * random.randrange(2 ** (prefix - 16))
        block = ipaddress.IPv4Network((start, prefix))
        if exclude and block.overlaps(ipaddress.IPv4Network(exclude)):
            continue
        if is_free(block):
            return str(block)
    raise SystemExit(
        f"no free /{prefix} in {space} after {attempts} tries: another run holds it; stop it or "
        "give this benchmark another --pool-octet"
    )
