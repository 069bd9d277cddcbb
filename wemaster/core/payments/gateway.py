"""The payment and payout gateway: the only door to the outside world's money.

The provider is another system: what it records is not undone by our rollbacks, and an
answer can be lost after the money moved. So every external money movement is an intent:
the caller commits its own row first, with a provider key
of its own, then calls the provider *outside any transaction*, then settles in a second
transaction with what the provider reports. `PaymentGateway` enforces the middle step: a
call made inside `transaction.atomic` raises `ProviderCallInTransaction`.

Outcomes the callers must handle (a real provider has every one of them):
    CardDeclined / PayoutRejected   final: nothing moved
    GatewayUnavailable              transient: retry with the same key (nothing moved, or ask)
    GatewayTimeout                  no answer: the money may have moved; ask by key later
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime

from django.db import connections
from rest_framework import status

from wemaster.core.errors import DomainError


class CardDeclined(DomainError):
    code = "card_declined"
    status_code = status.HTTP_402_PAYMENT_REQUIRED
    default_detail = "The card was declined."


class InvalidToken(DomainError):
    """A card or bank token the provider does not know: nothing was declined, the token is wrong."""

    code = "invalid_token"
    default_detail = "The token is unknown to the payment provider."

    def __init__(self, detail: str | None = None, *, fields: dict | None = None):
        super().__init__(detail, fields=fields or {"token": [detail or self.default_detail]})


class PayoutRejected(DomainError):
    code = "payout_rejected"
    default_detail = "The bank account rejected the payout."


class GatewayUnavailable(DomainError):
    """Transient: the same call with the same idempotency key may succeed later."""

    code = "payment_processing_error"
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The payment provider could not process the request; try again."


class GatewayTimeout(GatewayUnavailable):
    """The provider did not answer: the money may have moved. Only asking by key tells."""

    code = "payment_provider_timeout"
    default_detail = "The payment provider did not answer in time; the outcome is not known yet."


class ProviderCallInTransaction(RuntimeError):
    """A programming error: a provider call inside `transaction.atomic` would charge money that a
    rollback of our transaction cannot take back (charges without credits)."""


class Kind:
    CHARGE = "charge"
    PAYOUT = "payout"


class ProviderStatus:
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PENDING = "pending"


@dataclass(frozen=True)
class ProviderRecord:
    """The provider's own record of one charge or payout, found by our idempotency key."""

    kind: str
    key: str
    provider_id: str
    source: str
    amount: int
    currency: str
    status: str
    failure_code: str
    attempts: int  # calls the provider counted while the movement was pending
    created_at: datetime

    @property
    def succeeded(self) -> bool:
        return self.status == ProviderStatus.SUCCEEDED

    def matches(self, *, amount: int, currency: str) -> bool:
        return (self.amount, self.currency) == (amount, currency)


AMOUNT_MISMATCH = "amount_mismatch"


class Settlement:
    """What the provider's answer means for an intent (`settlement_of`)."""

    SUCCEEDED = "succeeded"  # moved exactly the intent's amount: book it
    FAILED = "failed"  # refused, cancelled or never seen: nothing moved
    PENDING = "pending"  # not decided at the provider yet: ask again later
    MISMATCH = "mismatch"  # moved another amount or currency: never booked blindly, staff decide


def settlement_of(record: ProviderRecord | None, *, amount: int, currency: str) -> str:
    """Classify the provider's record for an intent of `amount` `currency` (None: a final refusal)."""
    if record is None or record.status == ProviderStatus.FAILED:
        return Settlement.FAILED
    if record.status == ProviderStatus.PENDING:
        return Settlement.PENDING
    if not record.matches(amount=amount, currency=currency):
        return Settlement.MISMATCH
    return Settlement.SUCCEEDED


@dataclass(frozen=True)
class CardDetails:
    token: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class BankDetails:
    token: str
    bank_name: str
    last4: str


def assert_outside_transaction() -> None:
    """Raise ProviderCallInTransaction when any database connection is inside an atomic block
    opened by the application (a test case's own wrapping block does not count)."""
    for connection in connections.all(initialized_only=True):
        if any(not block._from_testcase for block in connection.atomic_blocks):
            raise ProviderCallInTransaction(
                f"payment provider called inside transaction.atomic on {connection.alias!r}: "
                "commit the intent first, call the provider, settle in a new transaction"
            )


class PaymentGateway(ABC):
    """What every provider integration offers. The public methods check that no transaction is
    open, then call the provider-specific `_...` methods.

    Every charge and payout carries our idempotency key: the same key never moves money
    twice, and a call with a known key returns the provider's stored outcome.
    """

    def card_details(self, *, token: str) -> CardDetails:
        """Validate a card token. Raises InvalidToken (unknown token), CardDeclined, GatewayUnavailable."""
        assert_outside_transaction()
        return self._card_details(token=token)

    def bank_details(self, *, token: str) -> BankDetails:
        """Validate a bank account token. Raises InvalidToken (unknown token), PayoutRejected,
        GatewayUnavailable."""
        assert_outside_transaction()
        return self._bank_details(token=token)

    def charge(self, *, source: str, amount: int, currency: str, idempotency_key: str) -> ProviderRecord:
        """Charge a card. Raises CardDeclined, GatewayUnavailable, GatewayTimeout."""
        assert_outside_transaction()
        return self._move(Kind.CHARGE, source=source, amount=amount, currency=currency, key=idempotency_key)

    def payout(self, *, destination: str, amount: int, currency: str, idempotency_key: str) -> ProviderRecord:
        """Pay a bank account. Raises PayoutRejected, GatewayUnavailable, GatewayTimeout."""
        assert_outside_transaction()
        return self._move(Kind.PAYOUT, source=destination, amount=amount, currency=currency, key=idempotency_key)

    def retrieve(self, *, kind: str, idempotency_key: str) -> ProviderRecord | None:
        """The provider's record for our key, or None if it never saw it. Raises GatewayUnavailable."""
        assert_outside_transaction()
        return self._retrieve(kind=kind, key=idempotency_key)

    def cancel(self, *, kind: str, idempotency_key: str) -> ProviderRecord:
        """Make sure a key can never move money from now on: a key the provider has not seen is
        recorded as failed (`canceled`); a key it has seen keeps its record. Returns the record
        that stands. Raises GatewayUnavailable."""
        assert_outside_transaction()
        return self._cancel(kind=kind, key=idempotency_key)

    def records(self, *, kind: str | None = None) -> list[ProviderRecord]:
        """Every record the provider holds for us (its export; reconcile compares it with the ledger)."""
        return self._records(kind=kind)

    @abstractmethod
    def _card_details(self, *, token: str) -> CardDetails: ...

    @abstractmethod
    def _bank_details(self, *, token: str) -> BankDetails: ...

    @abstractmethod
    def _move(self, kind: str, *, source: str, amount: int, currency: str, key: str) -> ProviderRecord: ...

    @abstractmethod
    def _retrieve(self, *, kind: str, key: str) -> ProviderRecord | None: ...

    @abstractmethod
    def _cancel(self, *, kind: str, key: str) -> ProviderRecord: ...

    @abstractmethod
    def _records(self, *, kind: str | None) -> list[ProviderRecord]: ...
