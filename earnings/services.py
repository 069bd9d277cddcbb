"""Writes of the earnings app: commission, earning records, clearance, payout methods, withdrawals.

Every function that changes a tutor's earnings invalidates the tutor's cache tag
(`earnings_tag`) on commit, so the cached overview and analytics are never stale.

A tutor's money sits in four ledger accounts: pending (earned, not cleared), available,
payout clearing (a withdrawal in flight) and the receivable: what the tutor owes the platform
after a refund took back more than the tutor still had (a negative balance). Money on its way
to available repays the receivable first (`tutor_credit_legs`).
"""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps

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
    new_provider_key,
)
from wemaster.core import metrics
from wemaster.core.cache import invalidate_tags
from wemaster.core.errors import NotFound
from wemaster.core.money import format_minor
from wemaster.core.payments import (
    AMOUNT_MISMATCH,
    GatewayUnavailable,
    PayoutRejected,
    ProviderRecord,
    Settlement,
    get_gateway,
    settlement_of,
)
from wemaster.ledger import services as ledger
from wemaster.ledger.errors import DuplicateTransfer, InsufficientFunds
from wemaster.ledger.locks import lock_accounts, retry_on_lock_conflict
from wemaster.ledger.models import Account, AccountKind, TransferKind
from wemaster.notifications import notify


def earnings_tag(tutor_id: int) -> str:
    return f"tutor:{tutor_id}:earnings"


def tutor_account(*, tutor_id: int, kind: str, currency: str | None = None) -> Account:
    """The tutor's pending, available, payout-clearing or receivable ledger account."""
    owner = get_user_model()(pk=tutor_id)  # a reference by id: account_for only uses its pk
    return ledger.account_for(kind=kind, currency=currency or settings.CURRENCY, owner=owner)


def tutor_credit_legs(
    *, tutor_id: int, currency: str, amount: int, lock_with: Collection[int] = ()
) -> list[ledger.Leg]:
    """The credit legs of `amount` (> 0) on its way to the tutor's available balance (an earning
    that clears, a failed payout's returned money): what the tutor owes on the receivable is repaid
    first, only the rest reaches available. The caller adds its debit leg(s) and posts one transfer.

    Precondition: call inside transaction.atomic, after the caller's row locks (earning,
    withdrawal) and before it locks any ledger account. The tutor's available and receivable
    accounts are locked here together with `lock_with` (the accounts of the caller's other legs)
    in one primary-key-ordered `lock_accounts` call, and the debt is read under that lock: the
    legs hold only while it is held, so post them in the same transaction.
    """
    if amount <= 0:
        raise ValueError("a credit to a tutor must be positive")
    available = tutor_account(tutor_id=tutor_id, kind=AccountKind.TUTOR_AVAILABLE, currency=currency)
    receivable = tutor_account(tutor_id=tutor_id, kind=AccountKind.TUTOR_RECEIVABLE, currency=currency)
    locked = lock_accounts([available.id, receivable.id, *lock_with])
    repaid = min(-locked[receivable.id].balance, amount)
    credits = ((receivable, repaid), (available, amount - repaid))
    return [ledger.Leg(account.id, part) for account, part in credits if part]


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


CLEARANCE_KINDS = (AccountKind.TUTOR_PENDING, AccountKind.TUTOR_AVAILABLE, AccountKind.TUTOR_RECEIVABLE)


def _lock_clearance_accounts(batch: list[Earning]) -> None:
    """Lock the pending, available and receivable accounts of every tutor in the batch in one
    primary-key-ordered call: two runs whose batches share tutors queue instead of deadlocking."""
    tutors = {(earning.tutor_id, earning.currency) for earning in batch if earning.net > 0}
    lock_accounts(
        tutor_account(tutor_id=tutor_id, kind=kind, currency=currency).id
        for tutor_id, currency in tutors
        for kind in CLEARANCE_KINDS
    )


def _clear(earning: Earning, now: datetime) -> None:
    """Move one pending earning's net out of pending: first repaying what the tutor owes (the
    receivable), the rest to available. Precondition: the earning row is locked."""
    if earning.net > 0:
        pending = tutor_account(tutor_id=earning.tutor_id, kind=AccountKind.TUTOR_PENDING, currency=earning.currency)
        credits = tutor_credit_legs(
            tutor_id=earning.tutor_id, currency=earning.currency, amount=earning.net, lock_with=[pending.id]
        )
        try:
            with transaction.atomic():
                ledger.transfer(
                    kind=TransferKind.EARNING_CLEARANCE,
                    reference=f"earning:{earning.pk}",
                    currency=earning.currency,
                    legs=[ledger.Leg(pending.id, -earning.net), *credits],
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
    then all their tutors' accounts at once in id order (`_lock_clearance_accounts`)."""
    batch = list(
        Earning.objects.select_for_update(skip_locked=True, no_key=True)
        .filter(status=EarningStatus.PENDING, available_on__lte=now)
        .order_by("id")[:batch_size]
    )
    _lock_clearance_accounts(batch)
    for earning in batch:
        _clear(earning, now)
    invalidate_tags(*{earnings_tag(earning.tutor_id) for earning in batch})
    return len(batch)


def earnings_clear_due(*, now: datetime | None = None, batch_size: int | None = None) -> int:
    """Clear due earnings in batches (one transaction each, retried on lock conflicts), each
    repaying the tutor's receivable before it reaches available. Idempotent: each earning's move
    has the unique transfer reference `earning:<id>`, and rows locked by a concurrent run (or by a
    refund) are skipped. Returns how many earnings were cleared."""
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
        Earning.objects.select_for_update(no_key=True)
        .filter(lesson_id=lesson_id, kind=EarningKind.LESSON)
        .exclude(status=EarningStatus.REFUNDED)
        .first()
    )
    if earning is None:
        raise NotFound("This lesson has no refundable earning.")
    return earning


@dataclass(frozen=True)
class TutorRecovery:
    """How a refunded earning's net comes back from its tutor: `recovered` from what the tutor
    still has, `owed` debited to the tutor's receivable; `legs` (all negative) post both."""

    legs: list[ledger.Leg]
    recovered: int
    owed: int


def earning_refund_legs(*, earning: Earning, lock_with: Collection[int] = ()) -> TutorRecovery:
    """The legs taking a refunded earning's net back from its tutor: from tutor pending while the
    earning has not cleared, else from tutor available as far as it reaches; the rest (money
    already withdrawn, or in a payout still in flight) is debited to the tutor's receivable, to be
    repaid by the next money on its way to available (`tutor_credit_legs`).

    Precondition: call inside transaction.atomic with `earning` locked by
    `earning_lock_for_refund` and no ledger account locked yet. The tutor's source and receivable
    accounts are locked here together with `lock_with` (the accounts of the caller's other legs) in
    one primary-key-ordered `lock_accounts` call; post the legs in the same transaction.
    """
    source_kind = AccountKind.TUTOR_PENDING if earning.status == EarningStatus.PENDING else AccountKind.TUTOR_AVAILABLE
    source = tutor_account(tutor_id=earning.tutor_id, kind=source_kind, currency=earning.currency)
    receivable = tutor_account(tutor_id=earning.tutor_id, kind=AccountKind.TUTOR_RECEIVABLE, currency=earning.currency)
    locked = lock_accounts([source.id, receivable.id, *lock_with])
    recovered = min(earning.net, max(locked[source.id].available, 0))
    owed = earning.net - recovered
    debits = ((source, recovered), (receivable, owed))
    return TutorRecovery(
        legs=[ledger.Leg(account.id, -amount) for account, amount in debits if amount], recovered=recovered, owed=owed
    )


def earning_mark_refunded(*, earning: Earning, now: datetime | None = None) -> Earning:
    """Precondition: `earning` locked by `earning_lock_for_refund` and its money moved by the caller."""
    earning.status = EarningStatus.REFUNDED
    earning.refunded_at = now or timezone.now()
    earning.save(update_fields=["status", "refunded_at"])
    invalidate_tags(earnings_tag(earning.tutor_id))
    return earning


# --- payout methods -------------------------------------------------------------------------------


def payout_method_add(*, tutor, token: str, make_default: bool = False) -> PayoutMethod:
    """Attach a tokenized bank account (the provider validates it first, outside any transaction).

    Raises InvalidToken for a token the provider does not know, PayoutMethodRejected for one it
    refuses, GatewayUnavailable.
    """
    try:
        details = get_gateway().bank_details(token=token)
    except PayoutRejected as exc:
        raise PayoutMethodRejected(exc.detail, fields={"token": [exc.detail]}) from exc
    return _payout_method_store(tutor=tutor, details=details, make_default=make_default)


@retry_on_lock_conflict
@transaction.atomic
def _payout_method_store(*, tutor, details, make_default: bool) -> PayoutMethod:
    methods = _lock_payout_methods(tutor_id=tutor.id)
    has_default = any(method.is_default for method in methods)
    if make_default and has_default:
        PayoutMethod.objects.filter(tutor=tutor, is_default=True).update(is_default=False)
    return PayoutMethod.objects.create(
        tutor=tutor,
        token=details.token,
        bank_name=details.bank_name,
        last4=details.last4,
        is_default=make_default or not has_default,
    )


def _lock_payout_methods(*, tutor_id: int) -> list[PayoutMethod]:
    """The tutor's payout methods (not removed), locked in primary-key order, so that changes to
    one tutor's methods (adding, removing, the default) serialize. Call inside atomic.

    Only these flows lock payout methods, and they lock nothing else, so they stand outside the
    order of wemaster.ledger.locks. A withdrawal does not lock its method: one requested while
    its method is being removed keeps that method, like any withdrawal already in flight.
    """
    return list(PayoutMethod.objects.active().filter(tutor_id=tutor_id).select_for_update(no_key=True).order_by("pk"))


def _payout_method_in(methods: list[PayoutMethod], payout_method_id: int) -> PayoutMethod:
    for method in methods:
        if method.pk == payout_method_id:
            return method
    raise NotFound("Payout method not found.")


@retry_on_lock_conflict
@transaction.atomic
def payout_method_set_default(*, tutor, payout_method_id: int, is_default: bool) -> PayoutMethod:
    """`True` makes it the tutor's one default; `False` on the default leaves none.
    Raises NotFound (not one of the tutor's methods, or removed)."""
    methods = _lock_payout_methods(tutor_id=tutor.id)
    method = _payout_method_in(methods, payout_method_id)
    if is_default:
        others = [other.pk for other in methods if other.is_default and other.pk != method.pk]
        PayoutMethod.objects.filter(pk__in=others).update(is_default=False)
    method.is_default = is_default
    method.save(update_fields=["is_default"])
    return method


@retry_on_lock_conflict
@transaction.atomic
def payout_method_remove(*, tutor, payout_method_id: int, now: datetime | None = None) -> PayoutMethod | None:
    """Remove one of the tutor's payout methods: hidden and refused for new withdrawals from now
    on, while a withdrawal already requested to it is still paid there (the row stays, marked
    `removed_at`). Removing the default makes the most recent remaining method the default.

    Returns the new default, if any. Raises NotFound (not one of the tutor's methods, or removed).
    """
    methods = _lock_payout_methods(tutor_id=tutor.id)
    method = _payout_method_in(methods, payout_method_id)
    was_default = method.is_default
    method.removed_at, method.is_default = now or timezone.now(), False
    method.save(update_fields=["removed_at", "is_default"])
    remaining = [other for other in methods if other.pk != method.pk]
    if not was_default or not remaining:
        return None
    promoted = max(remaining, key=lambda other: other.pk)
    promoted.is_default = True
    promoted.save(update_fields=["is_default"])
    return promoted


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

    Raises BelowMinimumPayout, NotFound (someone else's or a removed payout method),
    InsufficientAvailableBalance, WithdrawalInProgress (the partial unique index makes this
    race-proof: two concurrent requests cannot both insert an in-flight row).
    """
    if amount < settings.EARNINGS_MIN_PAYOUT_MINOR:
        minimum = f"{format_minor(settings.EARNINGS_MIN_PAYOUT_MINOR)} {settings.CURRENCY}"
        raise BelowMinimumPayout(fields={"amount": [f"The minimum payout is {minimum}."]})
    method = PayoutMethod.objects.active().filter(pk=payout_method_id, tutor=tutor).first()
    if method is None:  # someone else's, or removed
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


def _count_outcome(pay_out):
    """Count every payout attempt by outcome (`wemaster_payouts_total`, docs/OPERATIONS.md): paid,
    failed, or pending while the provider's answer is not final (RETRY). Counted after the
    settling transaction, so a transaction re-run for a lock conflict counts once."""

    @wraps(pay_out)
    def counted(**kwargs) -> str:
        outcome = pay_out(**kwargs)
        metrics.payout_settled("pending" if outcome == PayoutOutcome.RETRY else outcome)
        return outcome

    return counted


@_count_outcome
def withdrawal_pay_out(*, withdrawal_id: int) -> str:
    """Pay one withdrawal through the provider, exactly once.

    The withdrawal row is the payout's intent: its attempt is committed first, the provider
    is called outside any transaction with the round's own `provider_key` (a repeated call,
    by a redelivered task or a concurrent run, gets the provider's stored outcome instead of
    a second payout), and `withdrawal_settle` applies the answer in a second transaction.
    Returns a `PayoutOutcome`; RETRY means the outcome is not known yet (a transient failure,
    a lost answer or a payout pending at the provider): the same call settles it later.
    """
    withdrawal = _withdrawal_attempt_start(withdrawal_id=withdrawal_id)
    if withdrawal is None:
        return PayoutOutcome.ALREADY_DONE
    key = withdrawal.provider_key
    try:
        record = get_gateway().payout(
            destination=withdrawal.payout_method.token,
            amount=withdrawal.amount,
            currency=withdrawal.currency,
            idempotency_key=key,
        )
    except PayoutRejected as exc:
        return withdrawal_settle(withdrawal_id=withdrawal_id, provider_key=key, rejection=str(exc.detail))
    except GatewayUnavailable as exc:
        Withdrawal.objects.filter(pk=withdrawal_id, status__in=IN_FLIGHT, provider_key=key).update(
            failure_reason=str(exc.detail)[:200], updated_at=timezone.now()
        )
        return PayoutOutcome.RETRY
    return withdrawal_settle(withdrawal_id=withdrawal_id, provider_key=key, record=record)


@retry_on_lock_conflict
@transaction.atomic
def _withdrawal_attempt_start(*, withdrawal_id: int) -> Withdrawal | None:
    """Commit one payout attempt of an in-flight withdrawal (None when it is settled already)."""
    withdrawal = (
        Withdrawal.objects.select_for_update(of=("self",), no_key=True)
        .select_related("payout_method")
        .get(pk=withdrawal_id)
    )
    if withdrawal.status not in IN_FLIGHT:
        return None
    withdrawal.status = WithdrawalStatus.PROCESSING
    withdrawal.attempts += 1
    withdrawal.save(update_fields=["status", "attempts", "updated_at"])
    return withdrawal


@retry_on_lock_conflict
@transaction.atomic
def withdrawal_settle(
    *, withdrawal_id: int, provider_key: str, record: ProviderRecord | None = None, rejection: str = ""
) -> str:
    """Apply the provider's answer for the round `provider_key`, exactly once (the row lock; a
    settled or newer round is ALREADY_DONE). Paid: clearing -> external. Rejected or cancelled:
    the money returns to the tutor (repaying what the tutor owes first). A payout whose amount
    or currency differs from the withdrawal is not booked: it stays `processing` with the
    reason `amount_mismatch` (`reconcile` reports it). Lock order: the withdrawal row, then
    ledger accounts."""
    withdrawal = Withdrawal.objects.select_for_update(no_key=True).get(pk=withdrawal_id)
    if withdrawal.status not in IN_FLIGHT or withdrawal.provider_key != provider_key:
        return PayoutOutcome.ALREADY_DONE
    settlement = settlement_of(record, amount=withdrawal.amount, currency=withdrawal.currency)
    if settlement == Settlement.PENDING:
        return PayoutOutcome.RETRY
    clearing = tutor_account(tutor_id=withdrawal.tutor_id, kind=AccountKind.PAYOUT_CLEARING)
    if settlement == Settlement.FAILED:
        credits = tutor_credit_legs(
            tutor_id=withdrawal.tutor_id,
            currency=withdrawal.currency,
            amount=withdrawal.amount,
            lock_with=[clearing.id],
        )
        ledger.transfer(
            kind=TransferKind.PAYOUT_REVERSAL,
            reference=withdrawal.gateway_key,
            currency=withdrawal.currency,
            legs=[ledger.Leg(clearing.id, -withdrawal.amount), *credits],
        )
        withdrawal.status = WithdrawalStatus.FAILED
        withdrawal.failure_reason = (rejection or (record and record.failure_code) or "rejected")[:200]
        withdrawal.save(update_fields=["status", "failure_reason", "updated_at"])
        invalidate_tags(earnings_tag(withdrawal.tutor_id))
        notify.payout_settled(withdrawal=withdrawal)
        return PayoutOutcome.FAILED
    if settlement == Settlement.MISMATCH:
        withdrawal.failure_reason = AMOUNT_MISMATCH
        withdrawal.provider_reference = record.provider_id
        withdrawal.save(update_fields=["failure_reason", "provider_reference", "updated_at"])
        return PayoutOutcome.RETRY
    external = ledger.platform_account(kind=AccountKind.EXTERNAL_FUNDING, currency=withdrawal.currency)
    ledger.transfer(
        kind=TransferKind.PAYOUT,
        reference=withdrawal.gateway_key,
        currency=withdrawal.currency,
        legs=[ledger.Leg(clearing.id, -withdrawal.amount), ledger.Leg(external.id, withdrawal.amount)],
    )
    withdrawal.status = WithdrawalStatus.PAID
    withdrawal.provider_reference = record.provider_id
    withdrawal.failure_reason = ""
    withdrawal.paid_at = timezone.now()
    withdrawal.save(update_fields=["status", "provider_reference", "failure_reason", "paid_at", "updated_at"])
    invalidate_tags(earnings_tag(withdrawal.tutor_id))
    notify.payout_settled(withdrawal=withdrawal)
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


@retry_on_lock_conflict
@transaction.atomic
def withdrawal_retry(*, withdrawal_id: int) -> Withdrawal:
    """Staff retry of a payout. A failed one starts a new round (its money goes back to payout
    clearing under a new gateway key); one stuck in processing (transient failures outlasted the
    task's retries) is queued again with its current key.

    Raises WithdrawalNotRetryable (paid, just requested, or a failed one whose method the tutor
    removed since), WithdrawalInProgress,
    InsufficientAvailableBalance.
    """
    withdrawal = Withdrawal.objects.select_for_update(no_key=True).get(pk=withdrawal_id)
    if withdrawal.status == WithdrawalStatus.PROCESSING:
        _enqueue_payout(withdrawal.pk)
        return withdrawal
    if withdrawal.status != WithdrawalStatus.FAILED:
        raise WithdrawalNotRetryable()
    if PayoutMethod.objects.filter(pk=withdrawal.payout_method_id, removed_at__isnull=False).exists():
        # The money is back in available: the tutor withdraws it again to an account they keep.
        raise WithdrawalNotRetryable("The tutor removed this payout method; a new withdrawal is needed.")
    withdrawal.round += 1
    withdrawal.provider_key = new_provider_key()
    withdrawal.status = WithdrawalStatus.REQUESTED
    withdrawal.failure_reason = ""
    try:
        with transaction.atomic():
            withdrawal.save(update_fields=["round", "provider_key", "status", "failure_reason", "updated_at"])
    except IntegrityError as exc:
        raise WithdrawalInProgress() from exc
    _move_to_clearing(withdrawal)
    invalidate_tags(earnings_tag(withdrawal.tutor_id))
    _enqueue_payout(withdrawal.pk)
    return withdrawal
