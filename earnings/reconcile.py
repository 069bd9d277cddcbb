"""Earnings invariants, run by `manage.py reconcile`."""

from datetime import timedelta

from django.conf import settings
from django.db.models import F, Sum
from django.utils import timezone

from earnings.models import IN_FLIGHT, Earning, EarningStatus, Withdrawal, WithdrawalStatus
from wemaster.core.payments import Kind, get_gateway
from wemaster.ledger.models import Account, AccountKind, Transfer, TransferKind


def pending_balances_match_pending_earnings() -> list[str]:
    """A tutor's pending account holds exactly the net of the earnings still pending.

    Checked for every tutor with an earning record: money credited to tutor pending
    outside the booking flow (ledger-level tests, manual adjustments) has no earning to
    compare with and is the ledger checks' business.
    """
    pending = dict(
        Earning.objects.filter(status=EarningStatus.PENDING)
        .values_list("tutor_id")
        .annotate(total=Sum("net"))
        .order_by()
    )
    tutors = Earning.objects.values("tutor_id")
    accounts = Account.objects.filter(kind=AccountKind.TUTOR_PENDING, owner_id__in=tutors)
    problems = []
    for owner_id, balance in accounts.values_list("owner_id", "balance"):
        if balance != pending.get(owner_id, 0):
            problems.append(
                f"tutor {owner_id} pending balance {balance} != pending earnings {pending.get(owner_id, 0)}"
            )
    return problems


def cleared_earnings_have_one_clearance() -> list[str]:
    """An earning that cleared (available, or refunded after clearing) moved once; a pending one never."""
    moved = set(
        Transfer.objects.filter(kind=TransferKind.EARNING_CLEARANCE, reference__startswith="earning:").values_list(
            "reference", flat=True
        )
    )
    problems = []
    rows = Earning.objects.filter(net__gt=0).values_list("id", "status", "cleared_at")
    for earning_id, status, cleared_at in rows.iterator():
        has_transfer = f"earning:{earning_id}" in moved
        should = cleared_at is not None
        if has_transfer != should:
            problems.append(f"earning {earning_id} ({status}) cleared={should} but clearance transfer={has_transfer}")
        if status == EarningStatus.AVAILABLE and not should:
            problems.append(f"earning {earning_id} is available without a clearance date")
    return problems


def earnings_split_adds_up() -> list[str]:
    bad = Earning.objects.exclude(gross=F("commission") + F("net")).values_list("id", flat=True)
    return [f"earning {earning_id}: commission + net != gross" for earning_id in bad]


def provider_payouts_match_withdrawals() -> list[str]:
    """Every payout the provider made matches one paid withdrawal (its current round's key) of the
    same amount and currency, and every paid withdrawal matches a payout; withdrawals in flight
    for longer than PAYMENTS_UNRESOLVED_REPORT_AFTER_SECONDS are reported."""
    payouts = {record.key: record for record in get_gateway().records(kind=Kind.PAYOUT) if record.succeeded}
    report_before = timezone.now() - timedelta(seconds=settings.PAYMENTS_UNRESOLVED_REPORT_AFTER_SECONDS)
    problems = []
    rows = Withdrawal.objects.values_list("id", "provider_key", "status", "amount", "currency", "updated_at")
    for withdrawal_id, key, status, amount, currency, updated_at in rows.iterator():
        record = payouts.pop(key, None)
        if status == WithdrawalStatus.PAID and record is None:
            problems.append(f"withdrawal {withdrawal_id} is paid but the provider has no payout for it")
        elif status == WithdrawalStatus.PAID and (record.amount, record.currency) != (amount, currency):
            problems.append(f"withdrawal {withdrawal_id} booked {amount} {currency}, provider paid {record.amount}")
        elif status == WithdrawalStatus.FAILED and record is not None:
            problems.append(f"withdrawal {withdrawal_id} failed but the provider paid {record.amount}")
        elif status in IN_FLIGHT and updated_at < report_before:
            problems.append(f"withdrawal {withdrawal_id} in flight since {updated_at.isoformat()}")
    problems += [
        f"provider payout {record.provider_id} ({record.key}, {record.amount} {record.currency}) matches no withdrawal"
        for record in payouts.values()
    ]
    return problems


CHECKS = [
    pending_balances_match_pending_earnings,
    cleared_earnings_have_one_clearance,
    earnings_split_adds_up,
    provider_payouts_match_withdrawals,
]
