"""Orders, proformas and the outbox in the registry's SQLite database (schema version 2)."""

from __future__ import annotations

import datetime
import sqlite3
from dataclasses import dataclass
from decimal import Decimal

from datacenter.core.contacts import Responsable
from datacenter.core.errors import NotFound
from datacenter.core.ordering import (
    Amounts,
    Order,
    OrderRequest,
    OrderState,
    Proforma,
    ProformaKind,
)
from datacenter.core.registry import Registry


@dataclass(frozen=True)
class OutboxMessage:
    """An e-mail or SMS "sent" to a responsable: the outbox stands in for the mail/SMS gateway."""

    id: int
    sent_at: float
    channel: str  # "email" or "sms"
    recipient: str
    subject: str
    body: str
    uai: str
    order_id: int | None


@dataclass(frozen=True)
class Message:
    channel: str
    recipient: str
    subject: str
    body: str


class OrderStore:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    # -- orders ----------------------------------------------------------------------------

    def add_order(self, request: OrderRequest, placed_at: float, db: sqlite3.Connection) -> int:
        r = request.responsable
        cursor = db.execute(
            "INSERT INTO orders (client_number, uai, name, formula, responsable_name, "
            "responsable_mobile, responsable_email, responsable_fax, state, placed_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                request.client_number,
                request.uai,
                request.name,
                request.formula,
                r.name,
                r.mobile,
                r.email,
                r.fax,
                OrderState.PROFORMA_SENT.value,
                placed_at,
            ),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def get(self, order_id: int) -> Order:
        rows = self.registry.query("SELECT * FROM orders WHERE id=?", (order_id,))
        if not rows:
            raise NotFound(f"no order {order_id}; list orders with `pronote-dc order list`")
        return _order(rows[0])

    def all(self, uai: str = "") -> list[Order]:
        if uai:
            rows = self.registry.query("SELECT * FROM orders WHERE uai=? ORDER BY id", (uai,))
        else:
            rows = self.registry.query("SELECT * FROM orders ORDER BY id")
        return [_order(row) for row in rows]

    def activated_for(self, uai: str) -> Order | None:
        rows = self.registry.query(
            "SELECT * FROM orders WHERE uai=? AND state=? ORDER BY id DESC LIMIT 1",
            (uai, OrderState.ACTIVATED.value),
        )
        return _order(rows[0]) if rows else None

    def set_state(self, order_id: int, state: OrderState, db: sqlite3.Connection) -> None:
        db.execute("UPDATE orders SET state=? WHERE id=?", (state.value, order_id))

    def set_activated(
        self,
        order_id: int,
        activated_at: float,
        hosting_number: str,
        expires_on: datetime.date,
        db: sqlite3.Connection,
    ) -> None:
        db.execute(
            "UPDATE orders SET state=?, activated_at=?, hosting_number=?, licence_expires_on=? "
            "WHERE id=?",
            (
                OrderState.ACTIVATED.value,
                activated_at,
                hosting_number,
                expires_on.isoformat(),
                order_id,
            ),
        )

    def set_licence_expiry(
        self, order_id: int, expires_on: datetime.date, db: sqlite3.Connection
    ) -> None:
        db.execute(
            "UPDATE orders SET licence_expires_on=? WHERE id=?", (expires_on.isoformat(), order_id)
        )

    # -- proformas -------------------------------------------------------------------------

    def next_proforma_number(self, today: datetime.date, db: sqlite3.Connection) -> str:
        row = db.execute("SELECT value FROM meta WHERE key='proforma_sequence'").fetchone()
        sequence = int(row["value"]) + 1 if row else 1
        db.execute("INSERT OR REPLACE INTO meta VALUES ('proforma_sequence', ?)", (sequence,))
        return f"PF{today:%Y}-{sequence:06d}"

    def add_proforma(self, proforma: Proforma, db: sqlite3.Connection) -> None:
        a = proforma.amounts
        db.execute(
            "INSERT INTO proformas VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                proforma.number,
                proforma.order_id,
                proforma.kind.value,
                proforma.formula,
                str(a.ht),
                str(a.vat_rate),
                str(a.vat),
                str(a.ttc),
                proforma.issued_on.isoformat(),
                proforma.valid_until.isoformat(),
                None,
            ),
        )

    def latest_proforma(self, order_id: int) -> Proforma | None:
        rows = self.registry.query(
            "SELECT * FROM proformas WHERE order_id=? ORDER BY issued_on DESC, number DESC LIMIT 1",
            (order_id,),
        )
        return _proforma(rows[0]) if rows else None

    def accept_proforma(self, number: str, day: datetime.date, db: sqlite3.Connection) -> None:
        db.execute("UPDATE proformas SET accepted_on=? WHERE number=?", (day.isoformat(), number))

    # -- outbox ----------------------------------------------------------------------------

    def send(
        self,
        messages: list[Message],
        uai: str,
        order_id: int | None,
        sent_at: float,
        db: sqlite3.Connection,
    ) -> None:
        db.executemany(
            "INSERT INTO outbox (sent_at, channel, recipient, subject, body, uai, order_id) "
            "VALUES (?,?,?,?,?,?,?)",
            [(sent_at, m.channel, m.recipient, m.subject, m.body, uai, order_id) for m in messages],
        )

    def outbox(self, uai: str = "") -> list[OutboxMessage]:
        sql = "SELECT * FROM outbox" + (" WHERE uai=?" if uai else "") + " ORDER BY id"
        rows = self.registry.query(sql, (uai,) if uai else ())
        return [OutboxMessage(**dict(row)) for row in rows]


def _order(row: sqlite3.Row) -> Order:
    expires = row["licence_expires_on"]
    return Order(
        id=row["id"],
        client_number=row["client_number"],
        uai=row["uai"],
        name=row["name"],
        formula=row["formula"],
        responsable=Responsable(
            row["responsable_name"],
            row["responsable_mobile"],
            row["responsable_email"],
            row["responsable_fax"],
        ),
        state=OrderState(row["state"]),
        placed_at=row["placed_at"],
        activated_at=row["activated_at"],
        hosting_number=row["hosting_number"],
        licence_expires_on=datetime.date.fromisoformat(expires) if expires else None,
    )


def _proforma(row: sqlite3.Row) -> Proforma:
    accepted = row["accepted_on"]
    return Proforma(
        number=row["number"],
        order_id=row["order_id"],
        kind=ProformaKind(row["kind"]),
        formula=row["formula"],
        amounts=Amounts(
            Decimal(row["amount_ht"]),
            Decimal(row["vat_rate"]),
            Decimal(row["vat"]),
            Decimal(row["amount_ttc"]),
        ),
        issued_on=datetime.date.fromisoformat(row["issued_on"]),
        valid_until=datetime.date.fromisoformat(row["valid_until"]),
        accepted_on=datetime.date.fromisoformat(accepted) if accepted else None,
    )
