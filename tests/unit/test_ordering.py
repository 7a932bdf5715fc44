"""Ordering hosting (DOMAIN.md, seed 000): prices, dated VAT, validation, proforma validity and
the order's states, on a real registry and a simulated clock."""

from __future__ import annotations

import datetime
import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from common.clock import SimulatedClock
from datacenter.adapters.agents import AgentDirectory
from datacenter.core.auth import ConsoleAuth
from datacenter.core.contacts import Responsable, normalise_mobile
from datacenter.core.errors import AlreadyExists, InvalidArgument, NotFound, WrongState
from datacenter.core.fleet import Fleet
from datacenter.core.ipam import AddressPool
from datacenter.core.ordering import (
    DEFAULT_VAT_SCHEDULE,
    OrderRequest,
    OrderState,
    VatSchedule,
    licence_expiry,
    price,
    renewed_expiry,
    validate_request,
)
from datacenter.core.orders import Ordering
from datacenter.core.registry import SCHEMA_VERSION, Registry
from datacenter.core.settings import Settings
from provisioning.factory import open_runtime

VAT = VatSchedule.parse(DEFAULT_VAT_SCHEDULE)
SEED_DAY = datetime.date(2013, 7, 9)  # the seed's proforma e-mail: mardi 9 juillet 2013
DAY = 86400.0


def at(day: datetime.date) -> float:
    return datetime.datetime(day.year, day.month, day.day, 10, tzinfo=datetime.UTC).timestamp()


def request(**changes: object) -> OrderRequest:
    fields: dict[str, object] = {
        "client_number": "123456",
        "uai": "0750655E",
        "name": "Lycée Test",
        "formula": "80",
        "responsable": Responsable("Mme Martin", "06 12 34 56 78", "martin@example.org"),
        "contract_accepted": True,
    }
    fields.update(changes)
    return OrderRequest(**fields)  # type: ignore[arg-type]


# -- prices and VAT ------------------------------------------------------------------------


def test_the_seeds_proforma_exactly() -> None:
    amounts = price("80", SEED_DAY, VAT)
    assert (str(amounts.ht), str(amounts.vat_rate), str(amounts.vat), str(amounts.ttc)) == (
        "650.00",
        "19.6",
        "127.40",
        "777.40",
    )


@pytest.mark.parametrize(
    ("formula", "ht", "vat_2013", "ttc_2013", "ttc_now"),
    [
        ("30", "350.00", "68.60", "418.60", "420.00"),
        ("50", "450.00", "88.20", "538.20", "540.00"),
        ("80", "650.00", "127.40", "777.40", "780.00"),
        ("unlimited", "850.00", "166.60", "1016.60", "1020.00"),
    ],
)
def test_every_formula_is_priced_as_domain_md(
    formula: str, ht: str, vat_2013: str, ttc_2013: str, ttc_now: str
) -> None:
    in_2013 = price(formula, SEED_DAY, VAT)
    assert (in_2013.ht, in_2013.vat, in_2013.ttc) == (
        Decimal(ht),
        Decimal(vat_2013),
        Decimal(ttc_2013),
    )
    assert price(formula, datetime.date(2026, 9, 1), VAT).ttc == Decimal(ttc_now)


def test_the_rate_in_force_on_the_proformas_day_applies() -> None:
    assert VAT.rate_on(datetime.date(2013, 12, 31)) == Decimal("19.6")
    assert VAT.rate_on(datetime.date(2014, 1, 1)) == Decimal("20")


def test_vat_is_rounded_half_up_to_the_cent() -> None:
    # 450.00 x 0.01 % = 0.045: half up gives 0.05 (banker's rounding would give 0.04).
    schedule = VatSchedule.parse("2000-01-01:0.01")
    assert price("50", SEED_DAY, schedule).vat == Decimal("0.05")


@pytest.mark.parametrize(
    "text", ["", "2014-01-01", "2014-13-01:20", "2014-01-01:x", "2014-01-01:100"]
)
def test_a_bad_vat_schedule_is_refused(text: str) -> None:
    with pytest.raises(InvalidArgument):
        VatSchedule.parse(text)


def test_no_vat_before_the_schedule_starts() -> None:
    with pytest.raises(InvalidArgument, match="no VAT rate is known"):
        VAT.rate_on(datetime.date(1999, 1, 1))


# -- the order's fields --------------------------------------------------------------------


@pytest.mark.parametrize(
    "mobile", ["06 12 34 56 78", "0612345678", "+33 6 12 34 56 78", "612345678"]
)
def test_the_mobile_is_stored_without_the_leading_zero(mobile: str) -> None:
    assert normalise_mobile(mobile) == "612345678"
    assert (
        validate_request(request(responsable=Responsable("M", mobile, "a@b.fr"))).responsable.mobile
        == "612345678"
    )


@pytest.mark.parametrize("mobile", ["", "0112345678", "061234567"])
def test_the_mobile_is_mandatory_and_must_be_a_mobile(mobile: str) -> None:
    with pytest.raises(InvalidArgument, match="mandatory"):
        validate_request(request(responsable=Responsable("M", mobile, "a@b.fr")))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"contract_accepted": False}, "contract must be accepted"),
        ({"client_number": ""}, "client number"),
        ({"client_number": "12a"}, "client number"),
        ({"uai": "0750655A"}, "wrong check letter"),
        ({"uai": "750655E"}, "not a UAI"),
        ({"formula": "40"}, "choose 30, 50, 80 or unlimited"),
        ({"name": " "}, "name of 1 to 120"),
        ({"responsable": Responsable("", "0612345678", "a@b.fr")}, "responsable"),
        ({"responsable": Responsable("M", "0612345678", "nobody")}, "e-mail"),
    ],
)
def test_bad_orders_are_refused_saying_why(changes: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        validate_request(request(**changes))


# -- licence dates -------------------------------------------------------------------------


def test_the_licence_runs_one_year() -> None:
    assert licence_expiry(datetime.date(2022, 12, 1)) == datetime.date(2023, 12, 1)
    assert licence_expiry(datetime.date(2024, 2, 29)) == datetime.date(2025, 2, 28)


def test_a_renewal_adds_a_year_to_a_running_licence_or_restarts_a_lapsed_one() -> None:
    today = datetime.date(2023, 11, 1)
    assert renewed_expiry(datetime.date(2023, 12, 1), today) == datetime.date(2024, 12, 1)
    assert renewed_expiry(datetime.date(2023, 10, 1), today) == datetime.date(2024, 11, 1)


# -- the ordering service on a real registry and a simulated clock --------------------------


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(at(SEED_DAY))


@pytest.fixture
def ordering(tmp_path: Path, clock: SimulatedClock) -> Iterator[Ordering]:
    settings = Settings(state_dir=tmp_path, address_pool="127.110.255.0/30")
    registry = Registry(settings.registry_path)
    fleet = Fleet(
        settings,
        registry,
        AddressPool(settings.address_pool, registry),
        open_runtime("local://"),
        AgentDirectory(settings.agent_port),
        clock,
    )
    auth = ConsoleAuth(registry, clock, 3600.0)
    yield Ordering(fleet, auth, clock, VAT, lambda: "127.0.0.1:49400")
    registry.close()


def counts(ordering: Ordering) -> tuple[int, int, int]:
    registry = ordering.store.registry
    return tuple(  # type: ignore[return-value]
        len(registry.query(f"SELECT 1 FROM {table}")) for table in ("orders", "proformas", "outbox")
    )


def test_placing_an_order_sends_the_proforma_valid_thirty_days(ordering: Ordering) -> None:
    order, proforma = ordering.place(request())
    assert order.state is OrderState.PROFORMA_SENT
    assert order.responsable.mobile == "612345678"
    assert proforma.amounts.ttc == Decimal("777.40")
    assert (proforma.issued_on, proforma.valid_until) == (SEED_DAY, datetime.date(2013, 8, 8))
    [mail] = ordering.store.outbox()
    assert (mail.channel, mail.recipient, mail.subject) == (
        "email",
        "martin@example.org",
        "Proforma - Hébergement PRONOTE",
    )
    assert "777,40" in mail.body and "08/08/2013" in mail.body


def test_the_proforma_expires_after_its_validity_date(
    ordering: Ordering, clock: SimulatedClock
) -> None:
    order, _ = ordering.place(request())
    clock.advance(30 * DAY)  # the last valid day
    assert ordering.get(order.id)[1].state(ordering.today()) == "pending"  # type: ignore[union-attr]
    clock.advance(DAY)
    assert ordering.get(order.id)[1].state(ordering.today()) == "expired"  # type: ignore[union-attr]
    before = counts(ordering)
    with pytest.raises(WrongState, match="valid until 08/08/2013 and has expired"):
        ordering.accept(order.id)
    assert counts(ordering) == before
    assert ordering.get(order.id)[0].state is OrderState.PROFORMA_SENT


def test_an_expired_unreturned_proforma_cannot_be_activated(
    ordering: Ordering, clock: SimulatedClock
) -> None:
    order, _ = ordering.place(request())
    clock.advance(31 * DAY)
    with pytest.raises(WrongState, match="expired on 08/08/2013 without being returned"):
        asyncio_run(ordering.activate(order.id))
    assert not ordering.store.registry.exists("0750655E")


def test_activation_needs_the_returned_proforma(ordering: Ordering) -> None:
    order, _ = ordering.place(request())
    with pytest.raises(WrongState, match="has not been returned yet"):
        asyncio_run(ordering.activate(order.id))
    assert ordering.get(order.id)[0].state is OrderState.PROFORMA_SENT


def test_accepting_records_the_return_once(ordering: Ordering) -> None:
    order, _ = ordering.place(request())
    accepted, proforma = ordering.accept(order.id)
    assert accepted.state is OrderState.PROFORMA_RETURNED
    assert proforma.accepted_on == SEED_DAY
    before = counts(ordering)
    with pytest.raises(WrongState, match="activate it with `pronote-dc order activate 1`"):
        ordering.accept(order.id)
    assert counts(ordering) == before


def test_a_second_order_for_the_same_school_is_refused_until_the_first_expires(
    ordering: Ordering, clock: SimulatedClock
) -> None:
    ordering.place(request())
    before = counts(ordering)
    with pytest.raises(AlreadyExists, match="already in progress"):
        ordering.place(request(formula="30"))
    assert counts(ordering) == before
    clock.advance(31 * DAY)
    order, proforma = ordering.place(request(formula="30"))
    assert (order.id, proforma.amounts.ht) == (2, Decimal("350.00"))


def test_unknown_orders_and_schools_are_not_found(ordering: Ordering) -> None:
    with pytest.raises(NotFound, match="no order 7"):
        ordering.accept(7)
    with pytest.raises(NotFound, match="no order 7"):
        asyncio_run(ordering.activate(7))
    with pytest.raises(NotFound):
        ordering.renew("0750655E")
    with pytest.raises(NotFound):
        ordering.resend_credentials("0750655E")


def test_a_refused_order_writes_nothing(ordering: Ordering) -> None:
    with pytest.raises(InvalidArgument):
        ordering.place(request(contract_accepted=False))
    assert counts(ordering) == (0, 0, 0)


def asyncio_run(coroutine: object) -> object:
    import asyncio

    return asyncio.run(coroutine)  # type: ignore[arg-type]


# -- schema migration ------------------------------------------------------------------------


def test_a_version_1_registry_is_migrated_keeping_its_data(tmp_path: Path) -> None:
    path = tmp_path / "registry.sqlite3"
    Registry(path).close()
    with sqlite3.connect(path) as db:  # make it look like a registry written by version 1
        for table in ("orders", "proformas", "outbox"):
            db.execute(f"DROP TABLE {table}")
        db.execute("UPDATE meta SET value='1' WHERE key='schema_version'")
        db.execute("INSERT INTO meta VALUES ('hosting_sequence', '100041')")
    registry = Registry(path)
    assert SCHEMA_VERSION == 2
    assert registry.get_meta("schema_version") == "2"
    assert registry.get_meta("hosting_sequence") == "100041"
    assert registry.query("SELECT COUNT(*) AS n FROM outbox")[0]["n"] == 0
    registry.close()
