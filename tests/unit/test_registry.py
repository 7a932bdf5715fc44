"""The registry of schools and leases in SQLite, with the address pool that fills it."""

from __future__ import annotations

import datetime
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from datacenter.core.contacts import Responsable
from datacenter.core.errors import AlreadyExists, Exhausted, InvalidArgument, NotFound
from datacenter.core.ipam import AddressPool
from datacenter.core.registry import Registry, SampleAccount, SchoolRecord
from datacenter.core.uai import make_uai

NOW = datetime.datetime(2026, 4, 14, 9, 0, tzinfo=datetime.UTC).timestamp()


@pytest.fixture
def registry_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "registry.sqlite3"


@pytest.fixture
def registry(registry_path: Path) -> Iterator[Registry]:
    registry = Registry(registry_path)
    yield registry
    registry.close()


def record(uai: str, hosting_number: str = "", address: str = "") -> SchoolRecord:
    return SchoolRecord(
        uai=uai,
        name=f"Collège {uai}",
        formula="50",
        responsable=Responsable("Mme Martin", "612345678", "martin@example.org"),
        administratif_licences=4,
        hosting_number=hosting_number or "26" + uai[:7] + "000",
        console_password_hash="sha256$x$y",
        invoice_number="100001ABCD",
        first_login_done=False,
        agent_secret="agent-secret",
        address=address,
        created_at=NOW,
    )


def provision(registry: Registry, pool: AddressPool, uai: str) -> str:
    """Lease an address and add the school in one transaction, as the fleet does."""
    with registry.transaction() as db:
        address = pool.allocate(uai, NOW, db)
        registry.add_school(record(uai, address=address), db)
    return address


UAIS = [make_uai(f"{n:07d}") for n in range(750650, 750660)]


# -- hosting numbers -----------------------------------------------------------------------


def test_hosting_number_is_twelve_digits_starting_with_the_date(registry: Registry) -> None:
    number = registry.next_hosting_number(NOW)
    assert len(number) == 12 and number.isdigit()
    assert number == "260414100001"


def test_hosting_numbers_increment(registry: Registry) -> None:
    first = registry.next_hosting_number(NOW)
    second = registry.next_hosting_number(NOW)
    assert int(second) == int(first) + 1


def test_hosting_sequence_survives_reopening(registry_path: Path) -> None:
    registry = Registry(registry_path)
    first = registry.next_hosting_number(NOW)
    registry.close()
    registry = Registry(registry_path)
    assert registry.next_hosting_number(NOW)[6:] == f"{int(first[6:]) + 1:06d}"
    registry.close()


# -- address pool --------------------------------------------------------------------------


def test_pool_allocates_the_lowest_free_hosts_in_order(registry: Registry) -> None:
    pool = AddressPool("127.60.0.0/24", registry)
    addresses = [provision(registry, pool, uai) for uai in UAIS[:3]]
    assert addresses == ["127.60.0.1", "127.60.0.2", "127.60.0.3"]
    assert registry.get(UAIS[1]).address == "127.60.0.2"


def test_full_pool_raises_exhausted(registry: Registry) -> None:
    pool = AddressPool("127.60.0.0/30", registry)  # two hosts: .1 and .2
    provision(registry, pool, UAIS[0])
    provision(registry, pool, UAIS[1])
    with pytest.raises(Exhausted, match=re.escape("127.60.0.0/30 is full")):
        provision(registry, pool, UAIS[2])
    assert not registry.exists(UAIS[2])
    assert registry.leased_addresses() == {"127.60.0.1", "127.60.0.2"}


def test_removed_school_address_is_reused(registry: Registry) -> None:
    pool = AddressPool("127.60.0.0/30", registry)
    provision(registry, pool, UAIS[0])
    provision(registry, pool, UAIS[1])
    registry.remove_school(UAIS[0])
    assert registry.leased_addresses() == {"127.60.0.2"}
    assert provision(registry, pool, UAIS[2]) == "127.60.0.1"


@pytest.mark.parametrize("cidr", ["not a network", "127.60.0.1/24", "127.60.0.0/33", ""])
def test_invalid_cidr_is_refused(registry: Registry, cidr: str) -> None:
    with pytest.raises(InvalidArgument, match="is not a network"):
        AddressPool(cidr, registry)


def test_pool_contains(registry: Registry) -> None:
    pool = AddressPool("127.60.0.0/24", registry)
    assert pool.contains("127.60.0.200")
    assert not pool.contains("127.61.0.1")


# -- transactions --------------------------------------------------------------------------


def test_failed_transaction_leaves_neither_school_nor_lease(registry: Registry) -> None:
    pool = AddressPool("127.60.0.0/24", registry)
    with pytest.raises(RuntimeError, match="crash"), registry.transaction() as db:
        address = pool.allocate(UAIS[0], NOW, db)
        registry.add_school(record(UAIS[0], address=address), db)
        raise RuntimeError("crash after both writes")
    assert not registry.exists(UAIS[0])
    assert registry.leased_addresses() == set()
    assert registry.all() == []
    assert provision(registry, pool, UAIS[0]) == "127.60.0.1"


def test_lease_without_school_is_refused_at_commit_and_rolled_back(registry: Registry) -> None:
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"), registry.transaction() as db:
        registry.add_lease("127.60.0.1", UAIS[0], NOW, db)
    assert registry.leased_addresses() == set()
    pool = AddressPool("127.60.0.0/24", registry)
    assert provision(registry, pool, UAIS[0]) == "127.60.0.1"  # the registry is still usable


def test_duplicate_school_is_already_exists_and_rolls_back(registry: Registry) -> None:
    pool = AddressPool("127.60.0.0/24", registry)
    provision(registry, pool, UAIS[0])
    with pytest.raises(AlreadyExists, match=UAIS[0]), registry.transaction() as db:
        registry.add_school(record(UAIS[0], address="127.60.0.9"), db)
    assert registry.leased_addresses() == {"127.60.0.1"}


def test_remove_school_removes_its_lease(registry: Registry) -> None:
    pool = AddressPool("127.60.0.0/24", registry)
    provision(registry, pool, UAIS[0])
    registry.remove_school(UAIS[0])
    assert not registry.exists(UAIS[0])
    assert registry.leased_addresses() == set()
    with pytest.raises(NotFound):
        registry.get(UAIS[0])


# -- reading -------------------------------------------------------------------------------


def test_record_reads_back_as_written(registry: Registry) -> None:
    pool = AddressPool("127.60.0.0/24", registry)
    address = provision(registry, pool, UAIS[0])
    assert registry.get(UAIS[0]) == record(UAIS[0], address=address)


def test_lookup_by_hosting_number(registry: Registry) -> None:
    pool = AddressPool("127.60.0.0/24", registry)
    provision(registry, pool, UAIS[0])
    found = registry.by_hosting_number(record(UAIS[0]).hosting_number)
    assert found is not None and found.uai == UAIS[0]
    assert registry.by_hosting_number("000000000000") is None


def test_all_is_sorted_by_uai(registry: Registry) -> None:
    pool = AddressPool("127.60.0.0/24", registry)
    for uai in reversed(UAIS[:3]):
        provision(registry, pool, uai)
    assert [r.uai for r in registry.all()] == sorted(UAIS[:3])


def test_first_login_and_sample_accounts_are_recorded(registry: Registry) -> None:
    pool = AddressPool("127.60.0.0/24", registry)
    provision(registry, pool, UAIS[0])
    accounts = [SampleAccount("Professeur", "enseignant", "prof.a", "pw")]
    registry.mark_first_login(UAIS[0])
    registry.set_sample_accounts(UAIS[0], accounts)
    school = registry.get(UAIS[0])
    assert school.first_login_done
    assert school.sample_accounts == accounts


def test_meta_values(registry: Registry) -> None:
    assert registry.get_meta("missing") is None
    registry.set_meta("key", "one")
    registry.set_meta("key", "two")
    assert registry.get_meta("key") == "two"


# -- persistence ---------------------------------------------------------------------------


def test_reopening_the_file_keeps_schools_leases_and_meta(registry_path: Path) -> None:
    registry = Registry(registry_path)
    pool = AddressPool("127.60.0.0/24", registry)
    provision(registry, pool, UAIS[0])
    provision(registry, pool, UAIS[1])
    registry.mark_first_login(UAIS[1])
    registry.set_meta("operator_token_digest", "abc")
    registry.close()

    reopened = Registry(registry_path)
    try:
        assert [r.uai for r in reopened.all()] == UAIS[:2]
        assert reopened.get(UAIS[1]).first_login_done
        assert reopened.get_meta("operator_token_digest") == "abc"
        assert provision(reopened, AddressPool("127.60.0.0/24", reopened), UAIS[2]) == (
            "127.60.0.3"
        )
    finally:
        reopened.close()


def test_a_newer_schema_is_refused(registry_path: Path) -> None:
    registry = Registry(registry_path)
    registry.set_meta("schema_version", "99")
    registry.close()
    with pytest.raises(RuntimeError, match="upgrade pronote-dc"):
        Registry(registry_path)
