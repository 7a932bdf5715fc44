"""Demo schools registered in a controller's registry without being started: what the
benchmarks of the fleet's pages and metrics measure against."""

from __future__ import annotations

import time

from common import secrets
from datacenter.core.demo import demo_orders, sample_accounts
from datacenter.core.ipam import AddressPool
from datacenter.core.registry import Registry, SchoolRecord


def register_schools(registry: Registry, count: int, pool: str) -> list[SchoolRecord]:
    """`count` demo schools in the registry, each with its address in `pool` (never bound)
    and its sample accounts."""
    addresses = AddressPool(pool, registry)
    now = time.time()
    orders = demo_orders(set())
    records = []
    for _ in range(count):
        order = next(orders)
        hosting_number = registry.next_hosting_number(now)
        with registry.transaction() as db:
            record = SchoolRecord(
                uai=order.uai,
                name=order.name,
                formula=order.formula,
                responsable=order.responsable,
                administratif_licences=4,
                hosting_number=hosting_number,
                console_password_hash=secrets.hash_secret("x"),
                invoice_number=f"{hosting_number[-6:]}BENCH",
                first_login_done=False,
                agent_secret=secrets.new_token(),
                address=addresses.allocate(order.uai, now, db),
                created_at=now,
            )
            registry.add_school(record, db)
        registry.set_sample_accounts(order.uai, sample_accounts())
        records.append(record)
    return records
