"""Earnings invariants, run by `manage.py reconcile`."""

from django.db.models import F, Sum

from earnings.models import Earning, EarningStatus
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


CHECKS = [pending_balances_match_pending_earnings, cleared_earnings_have_one_clearance, earnings_split_adds_up]
