"""Ordering hosting (DOMAIN.md "Ordering hosting", seed 000): prices, VAT, proformas, the order's
states and the hosting licence. Plain Python: dates come in as arguments, never from a clock.

order placed -> proforma sent -> proforma returned (accepted) -> activated (school provisioned);
renewal: an activated order gets a new proforma; once returned, the licence runs one more year.
"""

from __future__ import annotations

import datetime
import enum
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from datacenter.core.contacts import (
    Responsable,
    normalise_email,
    normalise_mobile,
)
from datacenter.core.errors import InvalidArgument, WrongState

# Annual hosting fee, € HT (seed 000: "Redevance annuelle d'hébergement PRONOTE").
PRICES_HT: dict[str, Decimal] = {
    "30": Decimal("350.00"),
    "50": Decimal("450.00"),
    "80": Decimal("650.00"),
    "unlimited": Decimal("850.00"),
}
FORMULA_LABELS = {
    "30": "Formule 30 Profs",
    "50": "Formule 50 Profs",
    "80": "Formule 80 Profs",
    "unlimited": "Formule Profs illimités",
}
# French standard VAT: 19.6 % from 1 April 2000 (the seed's 2013 proforma), 20 % since
# 1 January 2014. "<date>:<rate>" pairs; the rate in force on a proforma's date applies.
DEFAULT_VAT_SCHEDULE = "2000-04-01:19.6,2014-01-01:20"
PROFORMA_VALIDITY_DAYS = 30
CENT = Decimal("0.01")
_CLIENT_NUMBER = re.compile(r"^\d{1,10}$")


class OrderState(enum.Enum):
    PROFORMA_SENT = "proforma_sent"  # waiting for the signed proforma
    PROFORMA_RETURNED = "proforma_returned"  # ready to activate
    ACTIVATED = "activated"  # the school is hosted


class ProformaKind(enum.Enum):
    ORDER = "order"
    RENEWAL = "renewal"


@dataclass(frozen=True)
class VatSchedule:
    """VAT rates (percent) by the date they came into force, oldest first."""

    rates: tuple[tuple[datetime.date, Decimal], ...]

    @classmethod
    def parse(cls, text: str) -> VatSchedule:
        rates = []
        for item in filter(None, (part.strip() for part in text.split(","))):
            day, _, rate = item.partition(":")
            try:
                rates.append((datetime.date.fromisoformat(day.strip()), Decimal(rate.strip())))
            except (ValueError, InvalidOperation):
                raise InvalidArgument(
                    f"VAT schedule item {item!r} is not <YYYY-MM-DD>:<percent>, e.g. 2014-01-01:20"
                ) from None
        if not rates or any(not 0 <= rate < 100 for _, rate in rates):
            raise InvalidArgument(f"give at least one VAT rate between 0 and 100, e.g. {text!r}")
        return cls(tuple(sorted(rates)))

    def rate_on(self, day: datetime.date) -> Decimal:
        in_force = [rate for start, rate in self.rates if start <= day]
        if not in_force:
            raise InvalidArgument(
                f"no VAT rate is known for {day}; the schedule starts {self.rates[0][0]}"
            )
        return in_force[-1]


@dataclass(frozen=True)
class Amounts:
    ht: Decimal
    vat_rate: Decimal
    vat: Decimal
    ttc: Decimal


def price(formula: str, day: datetime.date, vat: VatSchedule) -> Amounts:
    """HT, VAT and TTC of one year of hosting, rounded to the cent (half up, as invoices do)."""
    ht = PRICES_HT[check_formula(formula)]
    rate = vat.rate_on(day)
    tax = (ht * rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    return Amounts(ht, rate, tax, ht + tax)


@dataclass(frozen=True)
class OrderRequest:
    client_number: str
    uai: str
    name: str
    formula: str
    responsable: Responsable
    contract_accepted: bool


@dataclass(frozen=True)
class Proforma:
    number: str
    order_id: int
    kind: ProformaKind
    formula: str
    amounts: Amounts
    issued_on: datetime.date
    valid_until: datetime.date
    accepted_on: datetime.date | None = None

    def state(self, today: datetime.date) -> str:
        if self.accepted_on is not None:
            return "accepted"
        return "expired" if today > self.valid_until else "pending"


@dataclass(frozen=True)
class Order:
    id: int
    client_number: str
    uai: str
    name: str
    formula: str
    responsable: Responsable
    state: OrderState
    placed_at: float
    activated_at: float | None = None
    hosting_number: str = ""
    licence_expires_on: datetime.date | None = None


def check_formula(formula: str) -> str:
    if formula not in PRICES_HT:
        raise InvalidArgument(f"formula {formula!r} does not exist: choose 30, 50, 80 or unlimited")
    return formula


def validate_request(request: OrderRequest) -> OrderRequest:
    """The order in canonical form, or InvalidArgument saying what to fix; nothing is written."""
    from datacenter.core.uai import validate_uai

    if not request.contract_accepted:
        raise InvalidArgument(
            "the hosting contract must be accepted (« J'ai lu et j'accepte les termes du "
            "contrat d'hébergement »): give --accept-contract"
        )
    client_number = request.client_number.strip()
    if not _CLIENT_NUMBER.match(client_number):
        raise InvalidArgument(
            f"{request.client_number!r} is not an Index Education client number (1 to 10 digits)"
        )
    name = request.name.strip()
    if not 1 <= len(name) <= 120:
        raise InvalidArgument("give the school a name of 1 to 120 characters")
    email = normalise_email(request.responsable.email, "the proforma and the hosting number are")
    responsable_name = request.responsable.name.strip()
    if not responsable_name:
        raise InvalidArgument("give the responsable hébergement's name")
    return OrderRequest(
        client_number=client_number,
        uai=validate_uai(request.uai),
        name=name,
        formula=check_formula(request.formula),
        responsable=Responsable(
            responsable_name,
            normalise_mobile(request.responsable.mobile),
            email,
            request.responsable.fax.strip(),
        ),
        contract_accepted=True,
    )


def proforma_for(
    number: str,
    order_id: int,
    kind: ProformaKind,
    formula: str,
    today: datetime.date,
    vat: VatSchedule,
) -> Proforma:
    return Proforma(
        number=number,
        order_id=order_id,
        kind=kind,
        formula=formula,
        amounts=price(formula, today, vat),
        issued_on=today,
        valid_until=today + datetime.timedelta(days=PROFORMA_VALIDITY_DAYS),
    )


def check_accept(order: Order, proforma: Proforma | None, today: datetime.date) -> None:
    """Refuse accepting a proforma that is not pending (none, already returned, expired)."""
    if proforma is None or proforma.accepted_on is not None:
        what = "renew the licence with `pronote-dc order renew`"
        if order.state is OrderState.PROFORMA_RETURNED:
            what = f"activate it with `pronote-dc order activate {order.id}`"
        raise WrongState(f"order {order.id} has no proforma waiting to be returned; {what}")
    if proforma.state(today) == "expired":
        again = (
            f"place a new order for {order.uai}"
            if proforma.kind is ProformaKind.ORDER
            else f"ask for a new one with `pronote-dc order renew {order.uai}`"
        )
        raise WrongState(
            f"proforma {proforma.number} was valid until {proforma.valid_until:%d/%m/%Y} and "
            f"has expired; {again}"
        )


def check_activate(order: Order, proforma: Proforma | None, today: datetime.date) -> None:
    if order.state is OrderState.ACTIVATED:
        raise WrongState(
            f"order {order.id} is already activated (hosting number {order.hosting_number})"
        )
    if order.state is OrderState.PROFORMA_SENT:
        if proforma is not None and proforma.state(today) == "expired":
            raise WrongState(
                f"order {order.id}'s proforma expired on {proforma.valid_until:%d/%m/%Y} "
                f"without being returned; place a new order for {order.uai}"
            )
        raise WrongState(
            f"order {order.id}'s proforma has not been returned yet; once signed, record it "
            f"with `pronote-dc order accept {order.id}`, then activate"
        )


def licence_expiry(start: datetime.date) -> datetime.date:
    """One year of hosting: the same day next year (28 February for a 29 February start)."""
    try:
        return start.replace(year=start.year + 1)
    except ValueError:
        return start.replace(year=start.year + 1, day=28)


def renewed_expiry(current: datetime.date | None, today: datetime.date) -> datetime.date:
    """A renewal adds one year to a running licence, or starts a new year if it lapsed."""
    if current is None or current < today:
        return licence_expiry(today)
    return licence_expiry(current)


def day_of(epoch_seconds: float) -> datetime.date:
    return datetime.datetime.fromtimestamp(epoch_seconds, tz=datetime.UTC).date()


def money(amount: Decimal) -> str:
    """French display: 777,40."""
    return f"{amount:.2f}".replace(".", ",")
