"""The controller's registry of schools and address leases, in SQLite (WAL, versioned schema).

A school and its lease are written in one transaction, and removed in one: there is never a
school without an address or a lease without a school.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datacenter.core.contacts import Responsable
from datacenter.core.errors import AlreadyExists, NotFound

SCHEMA_VERSION = 3
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS schools (
    uai TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    formula TEXT NOT NULL,
    responsable_name TEXT NOT NULL,
    responsable_mobile TEXT NOT NULL,
    responsable_email TEXT NOT NULL,
    administratif_licences INTEGER NOT NULL,
    hosting_number TEXT NOT NULL UNIQUE,
    console_password_hash TEXT NOT NULL,
    invoice_number TEXT NOT NULL,
    first_login_done INTEGER NOT NULL DEFAULT 0,
    agent_secret TEXT NOT NULL,
    sample_accounts TEXT NOT NULL DEFAULT '[]',
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS leases (
    address TEXT PRIMARY KEY,
    uai TEXT NOT NULL UNIQUE
        REFERENCES schools(uai) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    leased_at REAL NOT NULL
);
"""

# Each schema version's additions, applied in order to an older registry (then the version bumps).
_MIGRATIONS: dict[int, str] = {
    2: """
CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_number TEXT NOT NULL,
    uai TEXT NOT NULL,
    name TEXT NOT NULL,
    formula TEXT NOT NULL,
    responsable_name TEXT NOT NULL,
    responsable_mobile TEXT NOT NULL,
    responsable_email TEXT NOT NULL,
    responsable_fax TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    placed_at REAL NOT NULL,
    activated_at REAL,
    hosting_number TEXT NOT NULL DEFAULT '',
    licence_expires_on TEXT
);
CREATE TABLE IF NOT EXISTS proformas (
    number TEXT PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES orders(id),
    kind TEXT NOT NULL,
    formula TEXT NOT NULL,
    amount_ht TEXT NOT NULL,
    vat_rate TEXT NOT NULL,
    vat TEXT NOT NULL,
    amount_ttc TEXT NOT NULL,
    issued_on TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    accepted_on TEXT
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sent_at REAL NOT NULL,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    uai TEXT NOT NULL,
    order_id INTEGER
);
""",
    # Issue 12: the intent journal (DESIGN decision 21) and each school's last scheduler pass.
    3: """
CREATE TABLE IF NOT EXISTS intents (
    uai TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}',
    started_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS scheduler_runs (
    uai TEXT PRIMARY KEY,
    last_run REAL NOT NULL
);
""",
}


@dataclass(frozen=True)
class Intent:
    """A multi-step operation on one school, committed before its first effect and deleted in
    the transaction of its last one (DESIGN decision 21); `Fleet.recover` finishes or undoes
    the ones a dead controller left."""

    uai: str
    kind: str  # "provision" (also `--demo` and order activation) or "remove"
    detail: dict[str, Any]
    started_at: float


@dataclass(frozen=True)
class SampleAccount:
    role: str
    mode: str  # the Client PRONOTE mode; "" for PRONOTE.net-only accounts (eleve, parent)
    login: str
    password: str
    # Where it logs in: "client" (Client PRONOTE) and PRONOTE.net espaces ("eleve", "parent",
    # "professeur", "viescolaire"); older records have none.
    espaces: tuple[str, ...] = ()


@dataclass(frozen=True)
class SchoolRecord:
    uai: str
    name: str
    formula: str
    responsable: Responsable
    administratif_licences: int
    hosting_number: str
    console_password_hash: str
    invoice_number: str
    first_login_done: bool
    agent_secret: str
    address: str
    created_at: float
    sample_accounts: list[SampleAccount] = field(default_factory=list)


class Registry:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # SQLite gives the -wal and -shm files the database file's mode: make it private first
        # (it holds management secrets, sample passwords and the outbox; issue 12, point 4).
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        for existing in (
            path,
            path.with_name(path.name + "-wal"),
            path.with_name(path.name + "-shm"),
        ):
            with contextlib.suppress(FileNotFoundError):
                os.chmod(existing, 0o600)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
            self._db.execute("COMMIT")  # may fail (deferred foreign key, I/O): roll back too
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise

    def _migrate(self) -> None:
        with self.transaction() as db:
            for statement in filter(str.strip, _SCHEMA.split(";")):
                db.execute(statement)
            row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            version = 1 if row is None else int(row["value"])
            if version > SCHEMA_VERSION:
                raise RuntimeError(
                    f"the registry has schema {row['value']}, newer than this pronote-dc "
                    f"({SCHEMA_VERSION}); upgrade pronote-dc"
                )
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for statement in filter(str.strip, _MIGRATIONS[step].split(";")):
                    db.execute(statement)
            db.execute(
                "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)",
                (max(version, SCHEMA_VERSION),),
            )

    # -- meta ------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row["value"])

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def next_hosting_number(self, now_seconds: float) -> str:
        """12 digits: the date (YYMMDD) then a 6-digit sequence, like 230414100002."""
        with self.transaction() as db:
            row = db.execute("SELECT value FROM meta WHERE key='hosting_sequence'").fetchone()
            sequence = int(row["value"]) + 1 if row else 100001
            db.execute("INSERT OR REPLACE INTO meta VALUES ('hosting_sequence', ?)", (sequence,))
        day = datetime.datetime.fromtimestamp(now_seconds, tz=datetime.UTC)
        return f"{day:%y%m%d}{sequence % 1_000_000:06d}"

    # -- schools ---------------------------------------------------------------------------

    def add_school(self, record: SchoolRecord, db: sqlite3.Connection) -> None:
        """Insert inside the caller's transaction (the lease is taken in the same one)."""
        try:
            db.execute(
                "INSERT INTO schools VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    record.uai,
                    record.name,
                    record.formula,
                    record.responsable.name,
                    record.responsable.mobile,
                    record.responsable.email,
                    record.administratif_licences,
                    record.hosting_number,
                    record.console_password_hash,
                    record.invoice_number,
                    int(record.first_login_done),
                    record.agent_secret,
                    _accounts_json(record.sample_accounts),
                    record.created_at,
                ),
            )
        except sqlite3.IntegrityError:
            raise AlreadyExists(
                f"school {record.uai} is already provisioned; show it with "
                f"`pronote-dc school show {record.uai}`"
            ) from None

    def remove_school(self, uai: str) -> None:
        """The school, its lease, its intent and its scheduler mark, in one transaction."""
        with self.transaction() as db:
            db.execute("DELETE FROM leases WHERE uai=?", (uai,))
            db.execute("DELETE FROM schools WHERE uai=?", (uai,))
            db.execute("DELETE FROM intents WHERE uai=?", (uai,))
            db.execute("DELETE FROM scheduler_runs WHERE uai=?", (uai,))

    # -- intents (DESIGN decision 21) ------------------------------------------------------

    def begin_intent(
        self, uai: str, kind: str, now_seconds: float, db: sqlite3.Connection, **detail: Any
    ) -> None:
        """Inside the caller's transaction, with the operation's first write."""
        db.execute(
            "INSERT OR REPLACE INTO intents VALUES (?, ?, ?, ?)",
            (uai, kind, json.dumps(detail), now_seconds),
        )

    def end_intent(self, uai: str, db: sqlite3.Connection | None = None) -> None:
        """Inside the transaction of the operation's last write (or on its own)."""
        (db or self._db).execute("DELETE FROM intents WHERE uai=?", (uai,))

    def intents(self) -> list[Intent]:
        return [
            Intent(row["uai"], row["kind"], json.loads(row["detail"]), row["started_at"])
            for row in self._db.execute("SELECT * FROM intents ORDER BY started_at")
        ]

    # -- scheduler marks (issue 12, point 2) -----------------------------------------------

    def last_runs(self) -> dict[str, float]:
        """UAI -> the clock time up to which its backups, archives and switches were made."""
        rows = self._db.execute("SELECT uai, last_run FROM scheduler_runs")
        return {row["uai"]: float(row["last_run"]) for row in rows}

    def set_last_run(self, uai: str, seconds: float) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO scheduler_runs SELECT uai, ? FROM schools WHERE uai=?",
            (seconds, uai),
        )

    def exists(self, uai: str) -> bool:
        return self._db.execute("SELECT 1 FROM schools WHERE uai=?", (uai,)).fetchone() is not None

    def get(self, uai: str) -> SchoolRecord:
        row = self._db.execute(_SELECT + " WHERE s.uai=?", (uai,)).fetchone()
        if row is None:
            raise NotFound(f"no school {uai} here; list schools with `pronote-dc school list`")
        return _record(row)

    def by_hosting_number(self, hosting_number: str) -> SchoolRecord | None:
        row = self._db.execute(_SELECT + " WHERE s.hosting_number=?", (hosting_number,)).fetchone()
        return None if row is None else _record(row)

    def all(self) -> list[SchoolRecord]:
        return [_record(row) for row in self._db.execute(_SELECT + " ORDER BY s.uai")]

    def query(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """Read outside a transaction (the ordering store's queries)."""
        return list(self._db.execute(sql, parameters))

    def set_console_password_hash(self, uai: str, password_hash: str) -> None:
        self._db.execute(
            "UPDATE schools SET console_password_hash=? WHERE uai=?", (password_hash, uai)
        )

    def mark_first_login(self, uai: str) -> None:
        self._db.execute("UPDATE schools SET first_login_done=1 WHERE uai=?", (uai,))

    def set_sample_accounts(
        self, uai: str, accounts: list[SampleAccount], db: sqlite3.Connection | None = None
    ) -> None:
        (db or self._db).execute(
            "UPDATE schools SET sample_accounts=? WHERE uai=?", (_accounts_json(accounts), uai)
        )

    # -- leases ----------------------------------------------------------------------------

    def addresses(self) -> dict[str, str]:
        """UAI -> address of every school: what monitoring reads at each scrape, cheaply."""
        rows = self._db.execute(
            "SELECT s.uai, l.address FROM schools s JOIN leases l ON l.uai = s.uai ORDER BY s.uai"
        )
        return {row["uai"]: row["address"] for row in rows}

    def leased_addresses(self, db: sqlite3.Connection | None = None) -> set[str]:
        return {row["address"] for row in (db or self._db).execute("SELECT address FROM leases")}

    def add_lease(self, address: str, uai: str, now_seconds: float, db: sqlite3.Connection) -> None:
        db.execute("INSERT INTO leases VALUES (?, ?, ?)", (address, uai, now_seconds))

    def move_lease(self, uai: str, address: str, now_seconds: float) -> None:
        """The school now answers at `address` (a runtime that chooses addresses, swarm://,
        moved it). A school still holding `address` in the registry (its own task is gone and
        not yet observed elsewhere) takes this school's old address until it is observed: every
        school keeps exactly one lease, no two share one."""
        with self.transaction() as db:
            row = db.execute("SELECT address FROM leases WHERE uai=?", (uai,)).fetchone()
            if row is None or row["address"] == address:
                return
            old = row["address"]
            holder = db.execute("SELECT uai FROM leases WHERE address=?", (address,)).fetchone()
            if holder is not None:
                db.execute("UPDATE leases SET address=? WHERE uai=?", (f"~{uai}", holder["uai"]))
            db.execute(
                "UPDATE leases SET address=?, leased_at=? WHERE uai=?", (address, now_seconds, uai)
            )
            if holder is not None:
                db.execute("UPDATE leases SET address=? WHERE uai=?", (old, holder["uai"]))


_SELECT = "SELECT s.*, l.address FROM schools s JOIN leases l ON l.uai = s.uai"


def _accounts_json(accounts: list[SampleAccount]) -> str:
    return json.dumps([account.__dict__ for account in accounts])


def _record(row: sqlite3.Row) -> SchoolRecord:
    data: dict[str, Any] = dict(row)
    return SchoolRecord(
        uai=data["uai"],
        name=data["name"],
        formula=data["formula"],
        responsable=Responsable(
            data["responsable_name"], data["responsable_mobile"], data["responsable_email"]
        ),
        administratif_licences=data["administratif_licences"],
        hosting_number=data["hosting_number"],
        console_password_hash=data["console_password_hash"],
        invoice_number=data["invoice_number"],
        first_login_done=bool(data["first_login_done"]),
        agent_secret=data["agent_secret"],
        address=data["address"],
        created_at=data["created_at"],
        sample_accounts=[
            SampleAccount(**{**a, "espaces": tuple(a.get("espaces", ()))})
            for a in json.loads(data["sample_accounts"])
        ],
    )
