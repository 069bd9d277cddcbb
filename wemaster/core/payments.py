"""The payment and payout gateway: the only door to the outside world's money.

Callers use `get_gateway()` (class chosen by `settings.PAYMENT_GATEWAY`), so a real
provider can be added without touching them. Every charge and payout carries an
idempotency key: calling again with the same key never moves money twice.

The sandbox gateway ships with the product (embedded default, tests, benchmarks):
    cards  tok_visa, tok_mastercard        attach and charge
           tok_chargeDeclined              declined when attached and when charged
           tok_chargeCustomerFail          attaches, every charge is declined
           tok_processingError             attaches, every charge fails transiently
    banks  btok_ok                         payouts succeed
           btok_fail                       payouts are rejected (final)
           btok_flaky                      the first two payout attempts fail transiently
"""

import hashlib
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string
from rest_framework import status

from wemaster.core.errors import DomainError
from wemaster.core.models import GatewayCall


class CardDeclined(DomainError):
    code = "card_declined"
    status_code = status.HTTP_402_PAYMENT_REQUIRED
    default_detail = "The card was declined."


class PayoutRejected(DomainError):
    code = "payout_rejected"
    default_detail = "The bank account rejected the payout."


class GatewayUnavailable(DomainError):
    """Transient: the same call with the same idempotency key may succeed later."""

    code = "payment_processing_error"
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The payment provider could not process the request; try again."


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


class PaymentGateway(Protocol):
    def card_details(self, *, token: str) -> CardDetails:
        """Validate a card token; raises CardDeclined."""

    def bank_details(self, *, token: str) -> BankDetails:
        """Validate a bank account token; raises PayoutRejected."""

    def charge(self, *, source: str, amount: int, currency: str, idempotency_key: str) -> str:
        """Charge a card token; returns the provider reference. Raises CardDeclined, GatewayUnavailable."""

    def payout(self, *, destination: str, amount: int, currency: str, idempotency_key: str) -> str:
        """Pay a bank token; returns the provider reference. Raises PayoutRejected, GatewayUnavailable."""


_CARDS = {
    "tok_visa": ("visa", "4242"),
    "tok_mastercard": ("mastercard", "4444"),
    "tok_chargeCustomerFail": ("visa", "0341"),
    "tok_processingError": ("visa", "0119"),
}
_BANKS = {"btok_ok": "6789", "btok_fail": "0002", "btok_flaky": "0003"}
_FLAKY_FAILURES = 2


class SandboxGateway:
    """Deterministic stand-in for a provider; records each call in `GatewayCall`."""

    def card_details(self, *, token: str) -> CardDetails:
        if token not in _CARDS:
            raise CardDeclined("The card was declined." if token == "tok_chargeDeclined" else "Unknown card token.")
        brand, last4 = _CARDS[token]
        return CardDetails(token=token, brand=brand, last4=last4, exp_month=12, exp_year=2030)

    def bank_details(self, *, token: str) -> BankDetails:
        if token not in _BANKS:
            raise PayoutRejected("Unknown bank account token.")
        return BankDetails(token=token, bank_name="Sandbox Bank", last4=_BANKS[token])

    def charge(self, *, source: str, amount: int, currency: str, idempotency_key: str) -> str:
        def outcome(attempt: int) -> tuple[bool, str]:
            if source in ("tok_visa", "tok_mastercard"):
                return True, ""
            if source == "tok_processingError":
                return False, "processing_error"
            return False, "card_declined"

        call = self._record(GatewayCall.Operation.CHARGE, source, amount, currency, idempotency_key, outcome)
        if call.succeeded:
            return call.provider_reference
        if call.failure_code == "processing_error":
            raise GatewayUnavailable()
        raise CardDeclined()

    def payout(self, *, destination: str, amount: int, currency: str, idempotency_key: str) -> str:
        def outcome(attempt: int) -> tuple[bool, str]:
            if destination == "btok_ok" or (destination == "btok_flaky" and attempt > _FLAKY_FAILURES):
                return True, ""
            if destination == "btok_flaky":
                return False, "processing_error"
            return False, "payout_rejected"

        call = self._record(GatewayCall.Operation.PAYOUT, destination, amount, currency, idempotency_key, outcome)
        if call.succeeded:
            return call.provider_reference
        if call.failure_code == "processing_error":
            raise GatewayUnavailable()
        raise PayoutRejected()

    @staticmethod
    def _record(operation, source, amount, currency, idempotency_key, outcome) -> GatewayCall:
        """Replay a final outcome for a known key; re-attempt a transient one."""
        with transaction.atomic():
            call = (
                GatewayCall.objects.select_for_update()
                .filter(operation=operation, idempotency_key=idempotency_key)
                .first()
            )
            if call is None:
                succeeded, failure = outcome(1)
                call, created = GatewayCall.objects.get_or_create(
                    operation=operation,
                    idempotency_key=idempotency_key,
                    defaults={
                        "source": source,
                        "amount": amount,
                        "currency": currency,
                        "succeeded": succeeded,
                        "failure_code": failure,
                        "provider_reference": "sbx_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24],
                    },
                )
                if created:
                    return call
                call = GatewayCall.objects.select_for_update().get(pk=call.pk)
            call.attempts += 1
            if call.failure_code == "processing_error":
                call.succeeded, call.failure_code = outcome(call.attempts)
            call.save(update_fields=["attempts", "succeeded", "failure_code"])
            return call


def get_gateway() -> PaymentGateway:
    return import_string(settings.PAYMENT_GATEWAY)()
