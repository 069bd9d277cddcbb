"""The sandbox provider: shipped with the product (embedded default, tests, benchmarks) and
modelled on Stripe, failures included.

Its record lives where our rollbacks cannot reach it: a table written through a connection
of its own in autocommit (PostgreSQL: the same database; SQLite: a file of its own, since
SQLite allows one writer at a time). An app transaction that rolls back after a charge
leaves the charge in this record, as with a real provider.

    cards  tok_visa, tok_mastercard        attach and charge
           tok_chargeDeclined              declined when attached
           tok_chargeCustomerFail          attaches, every charge is declined
           tok_processingError             attaches, every charge fails transiently (nothing charged)
           tok_timeoutAfterCharge          attaches; the first charge per key is made, then no answer
           any other token                 refused when attached (400 `invalid_token`)
    banks  btok_ok                         payouts succeed
           btok_fail                       payouts are rejected (final)
           btok_flaky                      pending at the provider for the first two attempts, then paid
           btok_timeout                    the first payout per key is made, then no answer
           any other token                 refused when attached (400 `invalid_token`)

Faults on any token, for load and recovery tests: PAYMENT_SANDBOX_LATENCY_MS (each call; a
charge or payout spends half of it before the money moves and half after),
PAYMENT_SANDBOX_TRANSIENT_RATE (fails before moving money), PAYMENT_SANDBOX_TIMEOUT_RATE
(money moves, the answer is lost); and `SandboxGateway.inject(...)` for one process's next calls.
"""

import os
import random
import secrets
import sqlite3
import threading
import time
from collections import deque
from datetime import UTC, datetime

import psycopg
from django.conf import settings
from django.db import connections

from wemaster.core.payments.gateway import (
    BankDetails,
    CardDeclined,
    CardDetails,
    GatewayTimeout,
    GatewayUnavailable,
    InvalidToken,
    Kind,
    PaymentGateway,
    PayoutRejected,
    ProviderRecord,
    ProviderStatus,
)

CARDS = {
    "tok_visa": ("visa", "4242"),
    "tok_mastercard": ("mastercard", "4444"),
    "tok_chargeCustomerFail": ("visa", "0341"),
    "tok_processingError": ("visa", "0119"),
    "tok_timeoutAfterCharge": ("visa", "0077"),
}
BANKS = {"btok_ok": "6789", "btok_fail": "0002", "btok_flaky": "0003", "btok_timeout": "0004"}
FLAKY_PENDING_ATTEMPTS = 2
CANCELED = "canceled"


class ProcessKilled(BaseException):
    """Injected fault `killed_after`: the provider acted and our process died before it heard.
    A BaseException, so no `except Exception` of ours handles it (as with a real kill)."""


class Fault:
    TRANSIENT = "transient"  # refused before moving money
    TIMEOUT_AFTER = "timeout_after"  # money moved, answer lost
    KILLED_AFTER = "killed_after"  # money moved, our process died


_injected: deque = deque()
_injected_lock = threading.Lock()

_COLUMNS = "kind, idem_key, provider_id, source, amount, currency, status, failure_code, attempts, created_at"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS payments_sandbox_record (
    id {pk},
    kind VARCHAR(16) NOT NULL,
    idem_key VARCHAR(255) NOT NULL,
    provider_id VARCHAR(64) NOT NULL,
    source VARCHAR(64) NOT NULL,
    amount BIGINT NOT NULL,
    currency VARCHAR(3) NOT NULL,
    status VARCHAR(16) NOT NULL,
    failure_code VARCHAR(64) NOT NULL,
    attempts INTEGER NOT NULL,
    created_at VARCHAR(40) NOT NULL,
    UNIQUE (kind, idem_key)
)"""


class SandboxStore:
    """The sandbox provider's database: one autocommit connection per thread and process."""

    def __init__(self):
        self._local = threading.local()
        self._opened: list = []
        self._opened_lock = threading.Lock()

    def _connection(self):
        local = self._local
        if getattr(local, "pid", None) != os.getpid() or getattr(local, "conn", None) is None:
            local.conn, local.placeholder = self._connect()
            local.pid = os.getpid()
            with self._opened_lock:
                self._opened.append(local.conn)
        return local.conn, local.placeholder

    @staticmethod
    def _connect():
        database = connections["default"].settings_dict
        if database["ENGINE"] == "django.db.backends.postgresql":
            conn = psycopg.connect(
                dbname=database["NAME"],
                user=database.get("USER") or None,
                password=database.get("PASSWORD") or None,
                host=database.get("HOST") or None,
                port=database.get("PORT") or None,
                connect_timeout=3,
                autocommit=True,
                application_name="wemaster-payments-sandbox",
            )
            conn.execute(_SCHEMA.format(pk="BIGSERIAL PRIMARY KEY"))
            return conn, "%s"
        conn = sqlite3.connect(str(settings.PAYMENT_SANDBOX_SQLITE_PATH), timeout=20, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(_SCHEMA.format(pk="INTEGER PRIMARY KEY AUTOINCREMENT"))
        return conn, "?"

    def execute(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Run one autocommit statement. A lost connection is the provider being unreachable:
        raises GatewayTimeout (a write may have happened) after dropping the connection."""
        conn, placeholder = self._connection()
        try:
            cursor = conn.execute(sql.replace("%s", placeholder), params)
            return cursor.fetchall() if cursor.description else []
        except (psycopg.OperationalError, psycopg.InterfaceError, sqlite3.OperationalError) as exc:
            self.close()
            raise GatewayTimeout() from exc

    def close(self) -> None:
        """Drop this thread's connection (a new one is opened on the next call)."""
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            _close_quietly(conn)

    def close_all(self) -> None:
        """Close every connection this process opened, in any thread (before dropping a database)."""
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            _close_quietly(conn)
        self._local = threading.local()

    def get(self, kind: str, key: str) -> ProviderRecord | None:
        rows = self.execute(
            f"SELECT {_COLUMNS} FROM payments_sandbox_record WHERE kind = %s AND idem_key = %s", (kind, key)
        )
        return _record(rows[0]) if rows else None

    def insert(self, kind, key, source, amount, currency, status, failure_code) -> tuple[ProviderRecord, bool]:
        """Insert unless the key is known. Returns (the record that stands, whether it is new)."""
        prefix = "sbx_ch_" if kind == Kind.CHARGE else "sbx_po_"
        inserted = self.execute(
            f"INSERT INTO payments_sandbox_record ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 1, %s) "
            "ON CONFLICT (kind, idem_key) DO NOTHING RETURNING id",
            (
                kind,
                key,
                prefix + secrets.token_hex(12),
                source,
                amount,
                currency,
                status,
                failure_code,
                datetime.now(UTC).isoformat(),
            ),
        )
        return self.get(kind, key), bool(inserted)

    def count_attempt(self, kind: str, key: str) -> int:
        rows = self.execute(
            "UPDATE payments_sandbox_record SET attempts = attempts + 1 WHERE kind = %s AND idem_key = %s "
            "RETURNING attempts",
            (kind, key),
        )
        return rows[0][0]

    def set_status(self, kind: str, key: str, status: str) -> None:
        self.execute(
            "UPDATE payments_sandbox_record SET status = %s WHERE kind = %s AND idem_key = %s", (status, kind, key)
        )

    def all(self, kind: str | None = None) -> list[ProviderRecord]:
        where, params = ("WHERE kind = %s", (kind,)) if kind else ("", ())
        rows = self.execute(f"SELECT {_COLUMNS} FROM payments_sandbox_record {where} ORDER BY id", params)
        return [_record(row) for row in rows]

    def reset(self) -> None:
        """Forget every record (tests only: a real provider never forgets)."""
        self.execute("DELETE FROM payments_sandbox_record")


def _close_quietly(conn) -> None:
    try:
        conn.close()
    except (psycopg.Error, sqlite3.Error):
        pass  # already gone: closing is all that was wanted


def _record(row) -> ProviderRecord:
    kind, key, provider_id, source, amount, currency, status, failure_code, attempts, created_at = row
    return ProviderRecord(
        kind=kind,
        key=key,
        provider_id=provider_id,
        source=source,
        amount=amount,
        currency=currency,
        status=status,
        failure_code=failure_code,
        attempts=attempts,
        created_at=datetime.fromisoformat(created_at),
    )


STORE = SandboxStore()


class SandboxGateway(PaymentGateway):
    """Deterministic by token, with faults a real provider has (see the module docstring)."""

    store = STORE

    @staticmethod
    def inject(*faults: str) -> None:
        """Make this process's next provider calls fail: one `Fault` per call, in order."""
        with _injected_lock:
            _injected.extend(faults)

    @staticmethod
    def clear_injected() -> None:
        with _injected_lock:
            _injected.clear()

    def _card_details(self, *, token: str) -> CardDetails:
        self._latency()
        if token == "tok_chargeDeclined":
            raise CardDeclined("The card was declined.")
        if token not in CARDS:
            raise InvalidToken("Unknown card token: use a sandbox token such as tok_visa.")
        brand, last4 = CARDS[token]
        return CardDetails(token=token, brand=brand, last4=last4, exp_month=12, exp_year=2030)

    def _bank_details(self, *, token: str) -> BankDetails:
        self._latency()
        if token not in BANKS:
            raise InvalidToken("Unknown bank account token: use a sandbox token such as btok_ok.")
        return BankDetails(token=token, bank_name="Sandbox Bank", last4=BANKS[token])

    def _move(self, kind: str, *, source: str, amount: int, currency: str, key: str) -> ProviderRecord:
        self._latency(0.5)  # the request on its way
        fault = self._next_fault()
        if fault == Fault.TRANSIENT or source == "tok_processingError":
            raise GatewayUnavailable()
        status, failure_code = self._outcome(kind, source)
        record, created = self.store.insert(kind, key, source, amount, currency, status, failure_code)
        if record.status == ProviderStatus.PENDING and not created:
            if self.store.count_attempt(kind, key) > FLAKY_PENDING_ATTEMPTS:
                self.store.set_status(kind, key, ProviderStatus.SUCCEEDED)
                record = self.store.get(kind, key)
        # The answer on its way back: the money has moved and we do not know it yet (a process
        # killed now leaves a charge that only asking the provider by key finds).
        self._latency(0.5)
        if fault == Fault.KILLED_AFTER:
            raise ProcessKilled(key)
        if fault == Fault.TIMEOUT_AFTER or (created and source in ("tok_timeoutAfterCharge", "btok_timeout")):
            raise GatewayTimeout()
        if record.status == ProviderStatus.PENDING:
            raise GatewayUnavailable("The payout is pending at the provider; ask again later.")
        if record.status == ProviderStatus.FAILED:
            if kind == Kind.CHARGE:
                raise CardDeclined()
            raise PayoutRejected()
        return record

    def _retrieve(self, *, kind: str, key: str) -> ProviderRecord | None:
        self._latency()
        return self.store.get(kind, key)

    def _cancel(self, *, kind: str, key: str) -> ProviderRecord:
        self._latency()
        record, _ = self.store.insert(kind, key, "", 0, "", ProviderStatus.FAILED, CANCELED)
        return record

    def _records(self, *, kind: str | None) -> list[ProviderRecord]:
        return self.store.all(kind)

    @staticmethod
    def _outcome(kind: str, source: str) -> tuple[str, str]:
        if kind == Kind.CHARGE:
            if source in ("tok_visa", "tok_mastercard", "tok_timeoutAfterCharge"):
                return ProviderStatus.SUCCEEDED, ""
            return ProviderStatus.FAILED, CardDeclined.code
        if source in ("btok_ok", "btok_timeout"):
            return ProviderStatus.SUCCEEDED, ""
        if source == "btok_flaky":
            return ProviderStatus.PENDING, ""
        return ProviderStatus.FAILED, PayoutRejected.code

    @staticmethod
    def _next_fault() -> str | None:
        with _injected_lock:
            if _injected:
                return _injected.popleft()
        roll = random.random()
        if roll < settings.PAYMENT_SANDBOX_TRANSIENT_RATE:
            return Fault.TRANSIENT
        if roll < settings.PAYMENT_SANDBOX_TRANSIENT_RATE + settings.PAYMENT_SANDBOX_TIMEOUT_RATE:
            return Fault.TIMEOUT_AFTER
        return None

    @staticmethod
    def _latency(share: float = 1.0) -> None:
        if settings.PAYMENT_SANDBOX_LATENCY_MS:
            time.sleep(settings.PAYMENT_SANDBOX_LATENCY_MS * share / 1000)
