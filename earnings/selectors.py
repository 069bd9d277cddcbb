"""Reads of the earnings app. Overview and analytics return plain data (they are cached)."""

from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek
from django.utils import timezone

from earnings.models import Earning, EarningKind, EarningStatus, PayoutMethod, Withdrawal, WithdrawalStatus
from earnings.services import (
    commission_percent_for_minutes,
    earnings_tag,
    next_tier_for_minutes,
)
from wemaster.core.cache import get_or_compute
from wemaster.core.money import format_minor
from wemaster.ledger.models import Account, AccountKind

PERIODS = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}
GROUPS = {"subject": ("subject__name",), "student": ("student_id", "student__display_name")}


def _month_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def overview_compute(*, tutor_id: int, now: datetime | None = None) -> dict:
    """Balances from the ledger, totals from earnings: four queries, cached by `earnings_overview`."""
    now = now or timezone.now()
    balances = dict(
        Account.objects.filter(
            owner_id=tutor_id,
            currency=settings.CURRENCY,
            kind__in=[AccountKind.TUTOR_PENDING, AccountKind.TUTOR_AVAILABLE, AccountKind.TUTOR_RECEIVABLE],
        ).values_list("kind", "balance")
    )
    kept = Earning.objects.filter(tutor_id=tutor_id).exclude(status=EarningStatus.REFUNDED)
    totals = kept.aggregate(
        total_gross=Sum("gross", default=0),
        total_net=Sum("net", default=0),
        month_net=Sum("net", default=0, filter=Q(earned_at__gte=_month_start(now))),
        total_minutes=Sum("minutes", default=0, filter=Q(kind=EarningKind.LESSON)),
    )
    paid_out = Withdrawal.objects.filter(tutor_id=tutor_id, status=WithdrawalStatus.PAID).aggregate(
        total=Sum("amount", default=0)
    )["total"]
    minutes = totals["total_minutes"]
    next_tier = next_tier_for_minutes(minutes)
    return {
        "pending": format_minor(balances.get(AccountKind.TUTOR_PENDING, 0)),
        "available": format_minor(balances.get(AccountKind.TUTOR_AVAILABLE, 0)),
        # The receivable's balance is negative by what the tutor owes (refunds of money already
        # withdrawn); the next earnings that clear repay it before reaching available.
        "owed": format_minor(-balances.get(AccountKind.TUTOR_RECEIVABLE, 0)),
        "paid_out": format_minor(paid_out),
        "lifetime_gross": format_minor(totals["total_gross"]),
        "lifetime_net": format_minor(totals["total_net"]),
        "this_month_net": format_minor(totals["month_net"]),
        "hours_taught": round(minutes / 60, 2),
        "commission_rate": commission_percent_for_minutes(minutes),
        "next_tier": None
        if next_tier is None
        else {"rate": next_tier["percent"], "hours_to_go": round(next_tier["hours_to_go"], 2)},
        "currency": settings.CURRENCY,
    }


def overview_key(tutor_id: int) -> str:
    return f"earnings:overview:{tutor_id}"


def earnings_overview(*, tutor_id: int) -> dict:
    return get_or_compute(
        overview_key(tutor_id),
        lambda: overview_compute(tutor_id=tutor_id),
        tags=[earnings_tag(tutor_id)],
        ttl=settings.EARNINGS_CACHE_TTL_SECONDS,
        family="earnings_overview",
    )


def _day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00 UTC, the day after `end` 00:00 UTC): `to` is inclusive."""
    return (
        datetime.combine(start, time.min, tzinfo=UTC),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC),
    )


def analytics_compute(*, tutor_id: int, period: str, start: date, end: date, group_by: str | None) -> dict:
    """Earnings per UTC day/week (Monday)/month bucket of `earned_at`, optionally per subject or
    student, refunded earnings excluded. One aggregate query whatever the range; totals are
    summed from its rows."""
    lower, upper = _day_bounds(start, end)
    group_fields = GROUPS[group_by] if group_by else ()
    rows = (
        Earning.objects.filter(tutor_id=tutor_id, earned_at__gte=lower, earned_at__lt=upper)
        .exclude(status=EarningStatus.REFUNDED)
        .annotate(bucket=PERIODS[period]("earned_at", tzinfo=UTC))
        .values("bucket", *group_fields)
        .annotate(
            gross=Sum("gross"),
            commission=Sum("commission"),
            net=Sum("net"),
            lessons=Count("id", filter=Q(kind=EarningKind.LESSON)),
            minutes=Sum("minutes"),
        )
        .order_by("bucket", *group_fields)
    )
    series = []
    totals = {"gross": 0, "commission": 0, "net": 0, "lessons": 0, "minutes": 0}
    for row in rows:
        bucket = row["bucket"]
        item = {"bucket": (bucket.date() if isinstance(bucket, datetime) else bucket).isoformat()}
        if group_by == "subject":
            item["subject"] = row["subject__name"]
        elif group_by == "student":
            item["student"] = {"id": row["student_id"], "display_name": row["student__display_name"]}
        for field in totals:
            totals[field] += row[field]
        item.update(_money_row(row))
        series.append(item)
    return {
        "period": period,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "group_by": group_by,
        "currency": settings.CURRENCY,
        "series": series,
        "totals": _money_row(totals),
    }


def _money_row(row: dict) -> dict:
    return {
        "gross": format_minor(row["gross"]),
        "commission": format_minor(row["commission"]),
        "net": format_minor(row["net"]),
        "lessons": row["lessons"],
        "hours": round(row["minutes"] / 60, 2),
    }


def earnings_analytics(*, tutor_id: int, period: str, start: date, end: date, group_by: str | None) -> dict:
    return get_or_compute(
        f"earnings:analytics:{tutor_id}:{period}:{start.isoformat()}:{end.isoformat()}:{group_by or '-'}",
        lambda: analytics_compute(tutor_id=tutor_id, period=period, start=start, end=end, group_by=group_by),
        tags=[earnings_tag(tutor_id)],
        ttl=settings.EARNINGS_CACHE_TTL_SECONDS,
        family="earnings_analytics",
    )


def earning_list(*, tutor_id: int, kind: str | None = None, status: str | None = None) -> QuerySet[Earning]:
    queryset = Earning.objects.filter(tutor_id=tutor_id).select_related("subject")
    if kind:
        queryset = queryset.filter(kind=kind)
    if status:
        queryset = queryset.filter(status=status)
    return queryset


def payout_method_list(*, tutor_id: int) -> QuerySet[PayoutMethod]:
    """The tutor's payout methods, removed ones left out."""
    return PayoutMethod.objects.active().filter(tutor_id=tutor_id)


def withdrawal_list(*, tutor_id: int) -> QuerySet[Withdrawal]:
    return Withdrawal.objects.filter(tutor_id=tutor_id).select_related("payout_method")


def active_tutor_ids(*, now: datetime | None = None) -> list[int]:
    since = (now or timezone.now()) - timedelta(days=settings.EARNINGS_WARM_ACTIVE_DAYS)
    return list(Earning.objects.filter(earned_at__gte=since).values_list("tutor_id", flat=True).distinct().order_by())
