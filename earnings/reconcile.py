"""Earnings invariants, run by `manage.py reconcile`."""

from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db.models import F, Q, Sum
from django.utils import timezone

from earnings.models import IN_FLIGHT, Earning, EarningStatus, Withdrawal, WithdrawalStatus
from wemaster.core.payments import Kind, get_gateway
from wemaster.ledger.models import Account, AccountKind, Transfer, TransferKind

# The ledger accounts holding a tutor's money (the receivable negatively, by what the tutor owes).
TUTOR_MONEY_KINDS = (
    AccountKind.TUTOR_PENDING,
    AccountKind.TUTOR_AVAILABLE,
    AccountKind.PAYOUT_CLEARING,
    AccountKind.TUTOR_RECEIVABLE,
)


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


def tutor_money_adds_up() -> list[str]:
    """Per tutor and currency, what the ledger holds for the tutor is what the tutor earned and
    kept, minus what left for the tutor's bank:

        pending + available + payout clearing + receivable
            == sum(net of the tutor's earnings not refunded) - sum(amount of the tutor's paid withdrawals)

    because a completion or late fee credits pending with its earning's net; clearance, a
    withdrawal, a failed payout and a repayment of the receivable move money among these four
    accounts; a refund takes its earning's whole net out of them (from pending or available, the
    rest onto the receivable); a paid withdrawal moves its amount from payout clearing to the
    outside. A transfer into a tutor account without an earning, a refund that took back the
    wrong amount or a payout without its withdrawal breaks the equality.

    Also: no tutor has money available while owing, since every credit on its way to available
    repays the receivable first. Three aggregate queries, however many tutors.
    """
    held = {}
    for tutor_id, currency, total, available, receivable in (
        Account.objects.filter(kind__in=TUTOR_MONEY_KINDS, owner__isnull=False)
        .values_list("owner_id", "currency")
        .annotate(
            total=Sum("balance"),
            available=Sum("balance", filter=Q(kind=AccountKind.TUTOR_AVAILABLE), default=0),
            receivable=Sum("balance", filter=Q(kind=AccountKind.TUTOR_RECEIVABLE), default=0),
        )
        .order_by()
    ):
        held[tutor_id, currency] = (total, available, receivable)
    kept = defaultdict(
        int,
        {
            (tutor_id, currency): total
            for tutor_id, currency, total in Earning.objects.exclude(status=EarningStatus.REFUNDED)
            .values_list("tutor_id", "currency")
            .annotate(total=Sum("net"))
            .order_by()
        },
    )
    paid = defaultdict(
        int,
        {
            (tutor_id, currency): total
            for tutor_id, currency, total in Withdrawal.objects.filter(status=WithdrawalStatus.PAID)
            .values_list("tutor_id", "currency")
            .annotate(total=Sum("amount"))
            .order_by()
        },
    )
    problems = []
    for tutor_id, currency in sorted(held.keys() | kept.keys() | paid.keys()):
        total, available, receivable = held.get((tutor_id, currency), (0, 0, 0))
        expected = kept[tutor_id, currency] - paid[tutor_id, currency]
        if total != expected:
            problems.append(
                f"tutor {tutor_id} ({currency}): pending + available + payout clearing + receivable = {total}"
                f" != kept earnings {kept[tutor_id, currency]} - paid withdrawals {paid[tutor_id, currency]}"
                f" = {expected}"
            )
        if available > 0 and receivable < 0:
            problems.append(
                f"tutor {tutor_id} ({currency}) has {available} available while owing {-receivable}:"
                " a credit bypassed the receivable"
            )
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
        elif status == WithdrawalStatus.PAID and not record.matches(amount=amount, currency=currency):
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
    tutor_money_adds_up,
    earnings_split_adds_up,
    provider_payouts_match_withdrawals,
]
