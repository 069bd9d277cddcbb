"""Payments at the boundary with the provider: the gateway interface and the sandbox provider.

`get_gateway()` returns the class named by `settings.PAYMENT_GATEWAY`, so a real provider can
be added without touching callers.
"""

from django.conf import settings
from django.utils.module_loading import import_string

from wemaster.core.payments.gateway import (
    AMOUNT_MISMATCH,
    BankDetails,
    CardDeclined,
    CardDetails,
    GatewayTimeout,
    GatewayUnavailable,
    InvalidToken,
    Kind,
    PaymentGateway,
    PayoutRejected,
    ProviderCallInTransaction,
    ProviderRecord,
    ProviderStatus,
    Settlement,
    settlement_of,
)

__all__ = [
    "AMOUNT_MISMATCH",
    "BankDetails",
    "CardDeclined",
    "CardDetails",
    "GatewayTimeout",
    "GatewayUnavailable",
    "InvalidToken",
    "Kind",
    "PaymentGateway",
    "PayoutRejected",
    "ProviderCallInTransaction",
    "ProviderRecord",
    "ProviderStatus",
    "Settlement",
    "get_gateway",
    "settlement_of",
]


def get_gateway() -> PaymentGateway:
    return import_string(settings.PAYMENT_GATEWAY)()
