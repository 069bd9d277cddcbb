"""What the staff operations page shows (docs/OPERATIONS.md, Staff admin): the work waiting for
staff and the state of the money machinery, read in a fixed number of queries."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q
from django.utils import timezone

from wemaster.core.metrics_collectors import unresolved_intents
from wemaster.core.models import ReconcileRun

# Rows of each kind listed on the page (the counts cover them all).
LISTED = 10


@dataclass(frozen=True)
class Operations:
    pending_refunds: list
    pending_refund_count: int
    failed_payouts: list
    stuck_payouts: list
    payout_counts: dict
    intents: list  # (kind, status, count, overdue count, oldest age in seconds)
    last_reconcile: ReconcileRun | None
    breaker_state: str


def cache_breaker_state() -> str:
    """This process's Redis breaker (closed, half_open, open; "none" without one)."""
    breaker = getattr(getattr(cache, "client", None), "breaker", None)
    return breaker.state if breaker is not None else "none"


def operations_overview(*, now: datetime | None = None) -> Operations:
    """Pending refund requests (oldest first), failed payouts (latest first), payouts in flight
    untouched for PAYMENTS_UNRESOLVED_REPORT_AFTER_SECONDS (stuck), unresolved payment intents,
    the last reconcile run and the cache breaker's state. Seven queries, whatever the numbers."""
    from earnings.models import IN_FLIGHT, Withdrawal, WithdrawalStatus
    from wemaster.lessons.models import RefundRequest, RefundStatus

    now = now or timezone.now()
    stuck_before = now - timedelta(seconds=settings.PAYMENTS_UNRESOLVED_REPORT_AFTER_SECONDS)
    pending = RefundRequest.objects.filter(status=RefundStatus.PENDING)
    failed = Q(status=WithdrawalStatus.FAILED)
    stuck = Q(status__in=IN_FLIGHT, updated_at__lt=stuck_before)
    payout_counts = Withdrawal.objects.aggregate(failed=Count("id", filter=failed), stuck=Count("id", filter=stuck))
    withdrawals = Withdrawal.objects.select_related("tutor")
    return Operations(
        pending_refunds=list(pending.select_related("student", "lesson__tutor").order_by("id")[:LISTED]),
        pending_refund_count=pending.count(),
        failed_payouts=list(withdrawals.filter(failed).order_by("-id")[:LISTED]),
        stuck_payouts=list(withdrawals.filter(stuck).order_by("updated_at")[:LISTED]),
        payout_counts=payout_counts,
        intents=unresolved_intents(now),
        last_reconcile=ReconcileRun.objects.order_by("-ran_at").first(),
        breaker_state=cache_breaker_state(),
    )
