"""Writes of the earnings app: commission, earning records, clearance, payout methods, withdrawals.

Every function that changes a tutor's earnings invalidates the tutor's cache tag
(`earnings_tag`) on commit, so the cached overview and analytics are never stale.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from earnings.errors import (
    BelowMinimumPayout,
    InsufficientAvailableBalance,
    PayoutMethodRejected,
    WithdrawalInProgress,
    WithdrawalNotRetryable,
)
from earnings.models import (
    IN_FLIGHT,
    Earning,
    EarningKind,
    EarningStatus,
    PayoutMethod,
    Withdrawal,
    WithdrawalStatus,
)
from wemaster.core.cache import invalidate_tags
from wemaster.core.errors import NotFound
from wemaster.core.payments import GatewayUnavailable, PayoutRejected, get_gateway
from wemaster.ledger import services as ledger
from wemaster.ledger.errors import DuplicateTransfer, InsufficientFunds
from wemaster.ledger.locks import lock_accounts, retry_on_lock_conflict
from wemaster.ledger.models import Account, AccountKind, TransferKind


def earnings_tag(tutor_id: int) -> str:
    return f"tutor:{tutor_id}:earnings"


def tutor_account(*, tutor_id: int, kind: str, currency: str | None = None) -> Account:
    """The tutor's pending, available or payout-clearing ledger account."""
    owner = get_user_model()(pk=tutor_id)  # a reference by id: account_for only uses its pk
    return ledger.account_for(kind=kind, currency=currency or settings.CURRENCY, owner=owner)


# --- commission -----------------------------------------------------------------------------------


def commission_percent_for_minutes(minutes_taught: int) -> int:
    """The tier rate for a lifetime of `minutes_taught` (EARNINGS_COMMISSION_TIERS, hours:percent)."""
    percent = settings.EARNINGS_COMMISSION_TIERS[0][1]
    for hours, tier_percent in sorted(settings.EARNINGS_COMMISSION_TIERS):
        if minutes_taught >= hours * 60:
            percent = tier_percent
    return percent


def next_tier_for_minutes(minutes_taught: int) -> dict | None:
    """The next cheaper tier and the hours still to teach to reach it, or None at the top."""
    for hours, percent in sorted(settings.EARNINGS_COMMISSION_TIERS):
        if minutes_taught < hours * 60:
            return {"percent": percent, "hours_to_go": (hours * 60 - minutes_taught) / 60}
    return None


def commission_split(*, gross: int, percent: int) -> tuple[int, int]:
    """(commission, net) of `gross` cents. The commission is rounded half up to the cent and
    the net is the remainder, so commission + net == gross for every amount."""
    commission = (gross * percent + 50) // 100
    return commission, gross - commission


def tutor_minutes_taught(*, tutor_id: int) -> int:
    """Lifetime minutes of completed, unrefunded lessons: what the commission tier is based on."""
    total = (
        Earning.objects.filter(tutor_id=tutor_id, kind=EarningKind.LESSON)
        .exclude(status=EarningStatus.REFUNDED)
        .aggregate(total=Sum("minutes"))["total"]
    )
    return total or 0


def commission_quote(*, tutor_id: int, gross: int) -> tuple[int, int, int]:
    """(percent, commission, net) for a lesson charge of `gross`, at the tutor's current tier."""
    percent = commission_percent_for_minutes(tutor_minutes_taught(tutor_id=tutor_id))
    commission, net = commission_split(gross=gross, percent=percent)
    return percent, commission, net


# --- earnings -------------------------------------------------------------------------------------


@transaction.atomic
def earning_record(
    *,
    tutor_id: int,
    student_id: int,
    subject_id: int,
    lesson_id: int,
    kind: str,
    minutes: int,
    currency: str,
    gross: int,
    commission: int,
    net: int,
    commission_percent: int,
    earned_at: datetime,
) -> Earning:
    """Describe money the caller has just credited to the tutor's pending account (same transaction)."""
    earning = Earning.objects.create(
        tutor_id=tutor_id,
        student_id=student_id,
        subject_id=subject_id,
        lesson_id=lesson_id,
        kind=kind,
        minutes=minutes,
        currency=currency,
        gross=gross,
        commission=commission,
        net=net,
        commission_percent=commission_percent,
        earned_at=earned_at,
        available_on=earned_at + timedelta(days=settings.EARNINGS_CLEARANCE_DAYS),
    )
    invalidate_tags(earnings_tag(tutor_id))
    return earning


def _clearance_accounts(earning: Earning) -> tuple[Account, Account]:
    """The tutor's pending and available accounts in the earning's currency (created on first use)."""
    return tuple(
        tutor_account(tutor_id=earning.tutor_id, kind=kind, currency=earning.currency)
        for kind in (AccountKind.TUTOR_PENDING, AccountKind.TUTOR_AVAILABLE)
    )


def _clear(earning: Earning, now: datetime, accounts: tuple[Account, Account] | None) -> None:
    """Move one pending earning's net from its tutor's pending to available `accounts` (None when
    the net is 0). Precondition: the earning row and the accounts are locked."""
    if accounts is not None:
        pending, available = accounts
        try:
            with transaction.atomic():
                ledger.transfer(
                    kind=TransferKind.EARNING_CLEARANCE,
                    reference=f"earning:{earning.pk}",
                    currency=earning.currency,
                    legs=[ledger.Leg(pending.id, -earning.net), ledger.Leg(available.id, earning.net)],
                )
        except DuplicateTransfer:
            pass  # the money already moved for this earning; only its status lagged behind
    earning.status = EarningStatus.AVAILABLE
    earning.cleared_at = now
    earning.save(update_fields=["status", "cleared_at"])


@retry_on_lock_conflict
@transaction.atomic
def _clear_batch(*, now: datetime, batch_size: int) -> int:
    """Clear up to `batch_size` due earnings in one transaction; returns how many. Lock order
    (wemaster.ledger.locks): the batch's earning rows (rows a concurrent run holds are skipped),
    then all their accounts at once in id order. Locking account pairs earning by earning would
    let two batches that hold the earnings of tutors A and B take A's and B's accounts in
    opposite orders."""
    batch = list(
        Earning.objects.select_for_update(skip_locked=True, no_key=True)
        .filter(status=EarningStatus.PENDING, available_on__lte=now)
        .order_by("id")[:batch_size]
    )
    accounts = {earning.pk: _clearance_accounts(earning) for earning in batch if earning.net > 0}
    lock_accounts(account.id for pair in accounts.values() for account in pair)
    for earning in batch:
        _clear(earning, now, accounts.get(earning.pk))
    invalidate_tags(*{earnings_tag(earning.tutor_id) for earning in batch})
    return len(batch)


def earnings_clear_due(*, now: datetime | None = None, batch_size: int | None = None) -> int:
    """Clear due earnings in batches (one transaction each, retried on lock conflicts).
    Idempotent: each earning's move has the unique transfer reference `earning:<id>`, and rows
    locked by a concurrent run are skipped. Returns how many earnings were cleared."""
    now = now or timezone.now()
    batch_size = batch_size or settings.EARNINGS_CLEARANCE_BATCH_SIZE
    cleared = 0
    while True:
        count = _clear_batch(now=now, batch_size=batch_size)
        cleared += count
        if count < batch_size:
            return cleared


def earning_lock_for_refund(*, lesson_id: int) -> Earning:
    """Lock a lesson's earning before refunding it (so clearance cannot move it meanwhile).

    Call inside transaction.atomic. Raises NotFound when the lesson earned nothing.
    """
    earning = (
        Earning.objects.select_for_update()
        .filter(lesson_id=lesson_id, kind=EarningKind.LESSON)
        .exclude(status=EarningStatus.REFUNDED)
        .first()
    )
    if earning is None:
        raise NotFound("This lesson has no refundable earning.")
    return earning


def earning_mark_refunded(*, earning: Earning, now: datetime | None = None) -> Earning:
    """Precondition: `earning` locked by `earning_lock_for_refund` and its money moved by the caller."""
    earning.status = EarningStatus.REFUNDED
    earning.refunded_at = now or timezone.now()
    earning.save(update_fields=["status", "refunded_at"])
    invalidate_tags(earnings_tag(earning.tutor_id))
    return earning


# --- payout methods -------------------------------------------------------------------------------


@transaction.atomic
def payout_method_add(*, tutor, token: str, make_default: bool = False) -> PayoutMethod:
    """Attach a tokenized bank account. Raises PayoutMethodRejected for a token the gateway refuses."""
    try:
        details = get_gateway().bank_details(token=token)
    except PayoutRejected as exc:
        raise PayoutMethodRejected(exc.detail, fields={"token": [exc.detail]}) from exc
    has_default = PayoutMethod.objects.filter(tutor=tutor, is_default=True).exists()
    if make_default:
        PayoutMethod.objects.filter(tutor=tutor, is_default=True).update(is_default=False)
    return PayoutMethod.objects.create(
        tutor=tutor,
        token=details.token,
        bank_name=details.bank_name,
        last4=details.last4,
        is_default=make_default or not has_default,
    )


# --- withdrawals ----------------------------------------------------------------------------------


def _enqueue_payout(withdrawal_id: int) -> None:
    from earnings.tasks import withdrawal_pay_out

    withdrawal_pay_out.delay_on_commit(withdrawal_id)


def _move_to_clearing(withdrawal: Withdrawal) -> None:
    available = tutor_account(tutor_id=withdrawal.tutor_id, kind=AccountKind.TUTOR_AVAILABLE)
    clearing = tutor_account(tutor_id=withdrawal.tutor_id, kind=AccountKind.PAYOUT_CLEARING)
    try:
        ledger.transfer(
            kind=TransferKind.WITHDRAWAL,
            reference=withdrawal.gateway_key,
            currency=withdrawal.currency,
            legs=[ledger.Leg(available.id, -withdrawal.amount), ledger.Leg(clearing.id, withdrawal.amount)],
        )
    except InsufficientFunds as exc:
        raise InsufficientAvailableBalance() from exc


@retry_on_lock_conflict
@transaction.atomic
def withdrawal_request(*, tutor, amount: int, payout_method_id: int) -> Withdrawal:
    """Move `amount` from the tutor's available earnings to payout clearing now; the payout task
    is queued on commit.

    Raises BelowMinimumPayout, NotFound (someone else's payout method),
    InsufficientAvailableBalance, WithdrawalInProgress (the partial unique index makes this
    race-proof: two concurrent requests cannot both insert an in-flight row).
    """
    if amount < settings.EARNINGS_MIN_PAYOUT_MINOR:
        raise BelowMinimumPayout(
            fields={"amount": [f"The minimum payout is {settings.EARNINGS_MIN_PAYOUT_MINOR} cents."]}
        )
    method = PayoutMethod.objects.filter(pk=payout_method_id, tutor=tutor).first()
    if method is None:
        raise NotFound("Payout method not found.")
    available = tutor_account(tutor_id=tutor.id, kind=AccountKind.TUTOR_AVAILABLE)
    if amount > available.available:
        raise InsufficientAvailableBalance()
    try:
        with transaction.atomic():
            withdrawal = Withdrawal.objects.create(
                tutor=tutor, payout_method=method, amount=amount, currency=settings.CURRENCY
            )
    except IntegrityError as exc:
        raise WithdrawalInProgress() from exc
    _move_to_clearing(withdrawal)
    invalidate_tags(earnings_tag(tutor.id))
    _enqueue_payout(withdrawal.pk)
    return withdrawal


class PayoutOutcome:
    PAID = "paid"
    FAILED = "failed"
    RETRY = "retry"
    ALREADY_DONE = "already_done"


def withdrawal_pay_out(*, withdrawal_id: int) -> str:
    """Pay one withdrawal through the gateway, exactly once.

    The withdrawal row stays locked across the gateway call, so concurrent runs
    serialize and the later one finds it already paid or failed. The gateway call
    carries the withdrawal's idempotency key, so a run killed after the call and
    redelivered (acks_late) gets the provider's stored outcome instead of a second payout.
    Returns a `PayoutOutcome`; RETRY means a transient gateway failure (the state is saved).
    """
    with transaction.atomic():
        withdrawal = Withdrawal.objects.select_for_update().select_related("payout_method").get(pk=withdrawal_id)
        if withdrawal.status not in IN_FLIGHT:
            return PayoutOutcome.ALREADY_DONE
        withdrawal.status = WithdrawalStatus.PROCESSING
        withdrawal.attempts += 1
        clearing = tutor_account(tutor_id=withdrawal.tutor_id, kind=AccountKind.PAYOUT_CLEARING)
        try:
            reference = get_gateway().payout(
                destination=withdrawal.payout_method.token,
                amount=withdrawal.amount,
                currency=withdrawal.currency,
                idempotency_key=withdrawal.gateway_key,
            )
        except GatewayUnavailable as exc:
            withdrawal.failure_reason = exc.detail
            withdrawal.save(update_fields=["status", "attempts", "failure_reason", "updated_at"])
            return PayoutOutcome.RETRY
        except PayoutRejected as exc:
            available = tutor_account(tutor_id=withdrawal.tutor_id, kind=AccountKind.TUTOR_AVAILABLE)
            ledger.transfer(
                kind=TransferKind.PAYOUT_REVERSAL,
                reference=withdrawal.gateway_key,
                currency=withdrawal.currency,
                legs=[ledger.Leg(clearing.id, -withdrawal.amount), ledger.Leg(available.id, withdrawal.amount)],
            )
            withdrawal.status = WithdrawalStatus.FAILED
            withdrawal.failure_reason = exc.detail
            withdrawal.save(update_fields=["status", "attempts", "failure_reason", "updated_at"])
            invalidate_tags(earnings_tag(withdrawal.tutor_id))
            return PayoutOutcome.FAILED
        external = ledger.platform_account(kind=AccountKind.EXTERNAL_FUNDING, currency=withdrawal.currency)
        ledger.transfer(
            kind=TransferKind.PAYOUT,
            reference=withdrawal.gateway_key,
            currency=withdrawal.currency,
            legs=[ledger.Leg(clearing.id, -withdrawal.amount), ledger.Leg(external.id, withdrawal.amount)],
        )
        withdrawal.status = WithdrawalStatus.PAID
        withdrawal.provider_reference = reference
        withdrawal.failure_reason = ""
        withdrawal.paid_at = timezone.now()
        withdrawal.save(
            update_fields=["status", "attempts", "provider_reference", "failure_reason", "paid_at", "updated_at"]
        )
        invalidate_tags(earnings_tag(withdrawal.tutor_id))
        return PayoutOutcome.PAID


def withdrawals_requeue_stuck(*, now: datetime | None = None) -> int:
    """Queue the payout task again for withdrawals in flight and untouched for
    EARNINGS_PAYOUT_REQUEUE_AFTER_SECONDS: their task was lost (a broker restart drops queued and
    unacknowledged tasks; a task failing on a dropped database connection is not retried).
    Safe to repeat: `withdrawal_pay_out` locks the row and the gateway call is idempotent.
    Returns how many were queued."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.EARNINGS_PAYOUT_REQUEUE_AFTER_SECONDS)
    stuck = list(
        Withdrawal.objects.filter(status__in=IN_FLIGHT, updated_at__lt=cutoff)
        .order_by("id")
        .values_list("id", flat=True)
    )
    for withdrawal_id in stuck:
        _enqueue_payout(withdrawal_id)
    return len(stuck)


@transaction.atomic
def withdrawal_retry(*, withdrawal_id: int) -> Withdrawal:
    """Staff retry of a payout. A failed one starts a new round (its money goes back to payout
    clearing under a new gateway key); one stuck in processing (transient failures outlasted the
    task's retries) is queued again with its current key.

    Raises WithdrawalNotRetryable (paid, or just requested), WithdrawalInProgress,
    InsufficientAvailableBalance.
    """
    withdrawal = Withdrawal.objects.select_for_update().get(pk=withdrawal_id)
    if withdrawal.status == WithdrawalStatus.PROCESSING:
        _enqueue_payout(withdrawal.pk)
        return withdrawal
    if withdrawal.status != WithdrawalStatus.FAILED:
        raise WithdrawalNotRetryable()
    withdrawal.round += 1
    withdrawal.status = WithdrawalStatus.REQUESTED
    withdrawal.failure_reason = ""
    try:
        with transaction.atomic():
            withdrawal.save(update_fields=["round", "status", "failure_reason", "updated_at"])
    except IntegrityError as exc:
        raise WithdrawalInProgress() from exc
    _move_to_clearing(withdrawal)
    invalidate_tags(earnings_tag(withdrawal.tutor_id))
    _enqueue_payout(withdrawal.pk)
    return withdrawal
