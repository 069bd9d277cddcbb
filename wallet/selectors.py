"""Wallet reads. Balances always come from the ledger account row, never from a cache."""

from datetime import datetime

from django.conf import settings
from django.db.models import F, QuerySet

from wallet.models import PaymentMethod, Wallet
from wemaster.ledger.models import AccountKind, Entry


def wallet_with_account(*, student_id: int) -> Wallet | None:
    """The student's wallet joined to its ledger account (one query)."""
    return Wallet.objects.select_related("account").filter(student_id=student_id).first()


def payment_method_list(*, student_id: int) -> QuerySet[PaymentMethod]:
    return PaymentMethod.objects.filter(wallet__student_id=student_id).order_by("-is_default", "-id")


def payment_method_of_student(*, student_id: int, payment_method_id: int) -> PaymentMethod | None:
    """The student's own method, or None (someone else's is indistinguishable from a missing one)."""
    return (
        PaymentMethod.objects.select_related("wallet")
        .filter(pk=payment_method_id, wallet__student_id=student_id)
        .first()
    )


def wallet_transactions(
    *,
    student_id: int,
    kind: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
) -> QuerySet[Entry]:
    """Ledger entries of the student's wallet account, shaped for the transaction list."""
    entries = (
        Entry.objects.filter(
            account__owner_id=student_id,
            account__kind=AccountKind.STUDENT_WALLET,
            account__currency=settings.CURRENCY,
        )
        .select_related("transfer")
        .only("id", "amount", "balance_after", "created_at", "transfer__kind", "transfer__reference")
    )
    if kind:
        entries = entries.filter(transfer__kind=kind)
    if created_after:
        entries = entries.filter(created_at__gte=created_after)
    if created_before:
        entries = entries.filter(created_at__lt=created_before)
    return entries


def wallet_needing_reload(*, account_id: int) -> int | None:
    """The id of the wallet on this ledger account if auto-reload should run now (one query):
    enabled, no reload in flight, available below the threshold."""
    return (
        Wallet.objects.filter(
            account_id=account_id,
            auto_reload_enabled=True,
            auto_reload_in_flight_since__isnull=True,
            account__balance__lt=F("account__held") + F("auto_reload_threshold"),
        )
        .values_list("id", flat=True)
        .first()
    )
