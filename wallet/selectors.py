"""Wallet reads. Balances always come from the ledger account row, never from a cache."""

from datetime import datetime

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet

from wallet.models import PaymentMethod, TopUp, Wallet
from wemaster.ledger.models import Account, AccountKind, Entry


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


def top_up_list(*, student_id: int) -> QuerySet[TopUp]:
    """The student's top-ups (every status), for the list (keyset on id) and detail."""
    return TopUp.objects.filter(wallet__student_id=student_id).only(
        "id", "status", "failure_code", "amount", "currency", "origin", "payment_method_id", "created_at"
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


# Runs after every wallet debit (hot path): one fixed statement, no ORM query compilation,
# which measured at about half the cost of a hold itself.
_WALLET_NEEDING_RELOAD_SQL = f"""
    SELECT w.id FROM {Wallet._meta.db_table} w
    JOIN {Account._meta.db_table} a ON a.id = w.account_id
    WHERE w.account_id = %s AND w.auto_reload_enabled AND w.auto_reload_in_flight_since IS NULL
      AND a.balance - a.held < w.auto_reload_threshold
"""


def wallet_needing_reload(*, account_id: int) -> int | None:
    """The id of the wallet on this ledger account if auto-reload should run now (one query):
    enabled, no reload in flight, available below the threshold."""
    with connection.cursor() as cursor:
        cursor.execute(_WALLET_NEEDING_RELOAD_SQL, [account_id])
        row = cursor.fetchone()
    return row[0] if row else None
