"""Wallet writes: the wallet row, payment methods, top-ups and auto-reload.

Money only moves through `wemaster.ledger.services`. A top-up is an intent at the boundary
with the provider (wemaster/core/payments/gateway.py): `top_up_begin` commits the TopUp row
with a provider key of its own, `top_up_execute` calls the provider outside any transaction,
`top_up_settle` credits the amount the provider reports in a second transaction, once.
An intent whose answer was lost (a timeout, a killed process) is settled by
`top_ups_resolve_unresolved` (beat), which asks the provider by key.
"""

import hashlib
import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from wallet.errors import NotAStudent, PaymentMethodDeclined, TopUpKeyReused
from wallet.models import UNRESOLVED, PaymentMethod, TopUp, TopUpOrigin, TopUpStatus, Wallet
from wemaster.core.errors import ValidationFailed
from wemaster.core.money import format_minor
from wemaster.core.payments import (
    AMOUNT_MISMATCH,
    CardDeclined,
    GatewayTimeout,
    GatewayUnavailable,
    Kind,
    ProviderRecord,
    Settlement,
    get_gateway,
    settlement_of,
)
from wemaster.ledger import services as ledger
from wemaster.ledger.locks import retry_on_lock_conflict
from wemaster.ledger.models import AccountKind, TransferKind
from wemaster.notifications import notify

logger = logging.getLogger(__name__)


def wallet_ensure(*, student) -> Wallet:
    """The student's wallet with its ledger account, created on first use (race-safe).

    Raises NotAStudent for any other role.
    """
    if not student.is_student:
        raise NotAStudent()
    wallet = Wallet.objects.select_related("account").filter(student=student).first()
    if wallet is not None:
        return wallet
    account = ledger.student_wallet_account(student=student, currency=settings.CURRENCY)
    try:
        with transaction.atomic():
            return Wallet.objects.create(
                student=student,
                account=account,
                auto_reload_threshold=settings.WALLET_AUTO_RELOAD_DEFAULT_THRESHOLD_MINOR,
                auto_reload_amount=settings.WALLET_AUTO_RELOAD_DEFAULT_AMOUNT_MINOR,
                auto_reload_monthly_cap=settings.WALLET_AUTO_RELOAD_DEFAULT_MONTHLY_CAP_MINOR,
            )
    except IntegrityError:
        return Wallet.objects.select_related("account").get(student=student)


def _lock_wallet(wallet: Wallet) -> Wallet:
    """Serialize changes to one wallet's payment methods and settings. Call inside atomic.

    FOR NO KEY UPDATE: it serializes these changes without blocking the KEY SHARE lock that
    every new top-up's foreign key takes on the wallet (FOR UPDATE deadlocked a card deletion
    against a top-up of that card)."""
    return Wallet.objects.select_for_update(no_key=True).get(pk=wallet.pk)


def payment_method_add(*, wallet: Wallet, token: str, make_default: bool = False) -> PaymentMethod:
    """Attach a tokenized card (the provider validates it first, outside any transaction).
    The first card becomes the default.

    Raises InvalidToken (a token the provider does not know), PaymentMethodDeclined,
    GatewayUnavailable, ValidationFailed (WALLET_MAX_PAYMENT_METHODS reached).
    """
    try:
        card = get_gateway().card_details(token=token)
    except CardDeclined as exc:
        raise PaymentMethodDeclined(exc.detail) from exc
    return _payment_method_store(wallet=wallet, card=card, make_default=make_default)


@retry_on_lock_conflict
@transaction.atomic
def _payment_method_store(*, wallet: Wallet, card, make_default: bool) -> PaymentMethod:
    _lock_wallet(wallet)
    if PaymentMethod.objects.filter(wallet=wallet).count() >= settings.WALLET_MAX_PAYMENT_METHODS:
        raise ValidationFailed(
            fields={"token": [f"At most {settings.WALLET_MAX_PAYMENT_METHODS} cards; remove one first."]}
        )
    has_default = PaymentMethod.objects.filter(wallet=wallet, is_default=True).exists()
    is_default = make_default or not has_default
    if is_default and has_default:
        PaymentMethod.objects.filter(wallet=wallet, is_default=True).update(is_default=False)
    return PaymentMethod.objects.create(
        wallet=wallet,
        gateway_token=card.token,
        brand=card.brand,
        last4=card.last4,
        exp_month=card.exp_month,
        exp_year=card.exp_year,
        is_default=is_default,
    )


@retry_on_lock_conflict
@transaction.atomic
def payment_method_set_default(*, payment_method: PaymentMethod, is_default: bool) -> PaymentMethod:
    """`True` makes it the one default; `False` on the default leaves the wallet without one."""
    _lock_wallet(payment_method.wallet)
    if is_default:
        PaymentMethod.objects.filter(wallet_id=payment_method.wallet_id, is_default=True).exclude(
            pk=payment_method.pk
        ).update(is_default=False)
    PaymentMethod.objects.filter(pk=payment_method.pk).update(is_default=is_default)
    payment_method.is_default = is_default
    return payment_method


@retry_on_lock_conflict
@transaction.atomic
def payment_method_delete(*, payment_method: PaymentMethod) -> PaymentMethod | None:
    """Remove a card. Deleting the default promotes the newest remaining card (or none).

    Returns the new default, if any. Past top-ups keep their history (their link is cleared).
    """
    _lock_wallet(payment_method.wallet)
    was_default = PaymentMethod.objects.filter(pk=payment_method.pk, is_default=True).exists()
    wallet_id = payment_method.wallet_id
    payment_method.delete()
    if not was_default:
        return None
    promoted = PaymentMethod.objects.filter(wallet_id=wallet_id).order_by("-id").first()
    if promoted is not None:
        promoted.is_default = True
        promoted.save(update_fields=["is_default"])
    return promoted


def _payment_method_for(*, wallet: Wallet, payment_method_id: int | None) -> PaymentMethod:
    methods = PaymentMethod.objects.filter(wallet=wallet)
    method = (
        methods.filter(is_default=True).first()
        if payment_method_id is None
        else methods.filter(pk=payment_method_id).first()
    )
    if method is None:
        message = "Add a payment method first." if payment_method_id is None else "Unknown payment method."
        raise ValidationFailed(fields={"payment_method": [message]})
    return method


def _check_top_up_amount(amount: int, field: str = "amount") -> None:
    low, high = settings.WALLET_TOP_UP_MIN_MINOR, settings.WALLET_TOP_UP_MAX_MINOR
    if amount < low:
        raise ValidationFailed(fields={field: [f"Must be at least {format_minor(low)} {settings.CURRENCY}."]})
    if amount > high:
        raise ValidationFailed(fields={field: [f"Must be at most {format_minor(high)} {settings.CURRENCY}."]})


def top_up_begin(
    *,
    wallet: Wallet,
    amount: int,
    payment_method: PaymentMethod,
    origin: str = TopUpOrigin.STUDENT,
    trigger: str = "",
    client_key: str = "",
) -> TopUp:
    """Commit the intent (status `pending`), or find the one already made for the same client key
    or auto-reload trigger. Precondition: the amount is within the limits.

    Raises TopUpKeyReused when the client key's top-up was for another amount or card (a key is
    never reused for another charge, however long ago it was used).
    """
    try:
        with transaction.atomic():
            return TopUp.objects.create(
                wallet=wallet,
                payment_method=payment_method,
                amount=amount,
                currency=settings.CURRENCY,
                origin=origin,
                trigger=trigger,
                client_key=client_key,
            )
    except IntegrityError:
        same = {"client_key": client_key} if client_key else {"trigger": trigger}
        existing = TopUp.objects.filter(wallet=wallet, **same).first()
        if existing is None:
            raise
    if client_key and (existing.amount, existing.payment_method_id) != (amount, payment_method.pk):
        raise TopUpKeyReused()
    return existing


def top_up_execute(*, top_up: TopUp) -> TopUp:
    """Ask the provider to charge an unresolved intent (with its own key: a repeat charges once)
    and settle what it answers. Call outside any transaction.

    Returns the top-up: `succeeded`, `failed` (declined) or `processing` (no answer: resolved
    later by asking the provider). Raises GatewayUnavailable (transient; the top-up stays
    `pending` and the same call may be repeated).
    """
    if top_up.status not in UNRESOLVED:
        return top_up
    gateway = get_gateway()
    method = PaymentMethod.objects.filter(pk=top_up.payment_method_id).first()
    if method is None:
        # The card was removed after the intent: charge nothing new, settle whatever already happened.
        return top_up_settle(
            top_up_id=top_up.pk, record=gateway.cancel(kind=Kind.CHARGE, idempotency_key=top_up.provider_key)
        )
    try:
        record = gateway.charge(
            source=method.gateway_token,
            amount=top_up.amount,
            currency=top_up.currency,
            idempotency_key=top_up.provider_key,
        )
    except CardDeclined:
        return top_up_settle(top_up_id=top_up.pk, record=None, failure_code=CardDeclined.code)
    except GatewayTimeout:
        TopUp.objects.filter(pk=top_up.pk, status=TopUpStatus.PENDING).update(
            status=TopUpStatus.PROCESSING, updated_at=timezone.now()
        )
        return TopUp.objects.get(pk=top_up.pk)
    return top_up_settle(top_up_id=top_up.pk, record=record)


@retry_on_lock_conflict
@transaction.atomic
def top_up_settle(*, top_up_id: int, record: ProviderRecord | None, failure_code: str = "") -> TopUp:
    """Apply the provider's answer to an intent, exactly once (the row lock and the transfer's
    unique reference): a succeeded charge credits the amount the provider charged; a failed or
    cancelled one (or `record=None` with a `failure_code`) fails the top-up; a pending one
    leaves it `processing`. A charge whose amount or currency differs from the intent is not
    credited: the top-up stays `processing` with failure_code `amount_mismatch` for staff
    (`reconcile` reports it). Lock order: the top-up row, then ledger accounts.
    """
    top_up = TopUp.objects.select_for_update(of=("self",), no_key=True).select_related("wallet").get(pk=top_up_id)
    if top_up.status not in UNRESOLVED:
        return top_up
    settlement = settlement_of(record, amount=top_up.amount, currency=top_up.currency)
    if settlement == Settlement.PENDING:
        top_up.status = TopUpStatus.PROCESSING
        top_up.save(update_fields=["status", "updated_at"])
        return top_up
    if settlement == Settlement.FAILED:
        top_up.status = TopUpStatus.FAILED
        top_up.failure_code = failure_code or record.failure_code or CardDeclined.code
        top_up.save(update_fields=["status", "failure_code", "updated_at"])
        return top_up
    top_up.provider_reference = record.provider_id
    if settlement == Settlement.MISMATCH:
        logger.error(
            "provider charge differs from its top-up; not credited",
            extra={"top_up": top_up.pk, "charged": record.amount, "currency": record.currency},
        )
        top_up.status, top_up.failure_code = TopUpStatus.PROCESSING, AMOUNT_MISMATCH
        top_up.save(update_fields=["status", "failure_code", "provider_reference", "updated_at"])
        return top_up
    external = ledger.platform_account(kind=AccountKind.EXTERNAL_FUNDING, currency=record.currency)
    top_up.transfer = ledger.transfer(
        kind=TransferKind.TOP_UP,
        reference=f"top_up:{top_up.id}",
        currency=record.currency,
        legs=[ledger.Leg(external.id, -record.amount), ledger.Leg(top_up.wallet.account_id, record.amount)],
        description=f"Top-up {top_up.id} ({top_up.origin})",
    )
    top_up.status, top_up.failure_code = TopUpStatus.SUCCEEDED, ""
    top_up.save(update_fields=["status", "failure_code", "transfer", "provider_reference", "updated_at"])
    return top_up


def top_up_create(
    *, wallet: Wallet, amount: int, payment_method_id: int | None = None, idempotency_key: str | None = None
) -> TopUp:
    """A student's top-up from one of their cards (the default when none is named).

    The request's `idempotency_key` maps to one intent for ever (unique per wallet): a retry
    continues that intent, with the same provider key, so a card is never charged twice and
    an old key can never credit a new amount.

    Raises ValidationFailed (amount outside the settings' limits, unknown card), TopUpKeyReused,
    GatewayUnavailable. A declined card comes back as a failed TopUp, a lost answer as a
    `processing` one.
    """
    _check_top_up_amount(amount)
    method = _payment_method_for(wallet=wallet, payment_method_id=payment_method_id)
    client_key = hashlib.sha256(idempotency_key.encode()).hexdigest() if idempotency_key else ""
    top_up = top_up_begin(wallet=wallet, amount=amount, payment_method=method, client_key=client_key)
    return top_up_execute(top_up=top_up)


def top_up_resolve(*, top_up_id: int) -> str:
    """Settle one unresolved top-up from the provider's record, asked by key: charged -> credited;
    never seen -> cancelled at the provider (so the key can never charge later) and failed.
    Returns the top-up's status, or "unknown" when the provider cannot be reached (ask later).
    Call outside any transaction, only when no request can still be charging it (the beat task
    waits PAYMENTS_RECOVERY_AFTER_SECONDS; staff act on what they see stuck)."""
    top_up = TopUp.objects.get(pk=top_up_id)
    if top_up.status not in UNRESOLVED:
        return top_up.status
    try:
        record = get_gateway().cancel(kind=Kind.CHARGE, idempotency_key=top_up.provider_key)
    except GatewayUnavailable:
        return "unknown"
    return top_up_settle(top_up_id=top_up.pk, record=record).status


def top_ups_resolve_unresolved(*, now=None, batch_size: int = 200) -> dict[str, int]:
    """Beat: resolve top-ups left `pending` or `processing` for PAYMENTS_RECOVERY_AFTER_SECONDS (a
    lost answer, a killed process, a failed commit); a held `amount_mismatch` waits for staff.
    Returns counts by outcome."""
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.PAYMENTS_RECOVERY_AFTER_SECONDS)
    due = (
        TopUp.objects.filter(status__in=UNRESOLVED, updated_at__lt=cutoff)
        .exclude(failure_code=AMOUNT_MISMATCH)
        .order_by("id")
        .values_list("id", flat=True)[:batch_size]
    )
    outcomes: dict[str, int] = {}
    for top_up_id in list(due):
        outcome = top_up_resolve(top_up_id=top_up_id)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


@retry_on_lock_conflict
@transaction.atomic
def auto_reload_configure(
    *,
    wallet: Wallet,
    enabled: bool,
    threshold: int,
    amount: int,
    monthly_cap: int,
    payment_method_id: int | None = None,
) -> Wallet:
    """Save the auto-reload settings. Enabling clears a previous automatic disable.

    Raises ValidationFailed: amount outside the top-up limits, cap below one reload,
    an unknown card, or enabling with no card to charge.
    """
    _check_top_up_amount(amount)
    if monthly_cap < amount:
        raise ValidationFailed(fields={"monthly_cap": ["Must be at least one reload amount."]})
    method = None
    if payment_method_id is not None:
        method = _payment_method_for(wallet=wallet, payment_method_id=payment_method_id)
    elif enabled:
        _payment_method_for(wallet=wallet, payment_method_id=None)
    wallet = _lock_wallet(wallet)
    wallet.auto_reload_enabled = enabled
    wallet.auto_reload_threshold = threshold
    wallet.auto_reload_amount = amount
    wallet.auto_reload_monthly_cap = monthly_cap
    wallet.auto_reload_payment_method = method
    fields = ["auto_reload_enabled", "auto_reload_threshold", "auto_reload_amount", "auto_reload_monthly_cap"]
    fields.append("auto_reload_payment_method")
    if enabled:
        wallet.auto_reload_consecutive_failures = 0
        wallet.auto_reload_disabled_reason = ""
        fields += ["auto_reload_consecutive_failures", "auto_reload_disabled_reason"]
    wallet.save(update_fields=fields)
    return Wallet.objects.select_related("account").get(pk=wallet.pk)


def _month_start(now):
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def auto_reload_month_total(*, wallet: Wallet, now=None) -> int:
    """Cents auto-reloaded since the start of this calendar month (UTC), counting reloads still
    unresolved at the provider, so the cap holds whatever their outcome."""
    month_start = _month_start(now or timezone.now())
    total = TopUp.objects.filter(
        wallet=wallet,
        origin=TopUpOrigin.AUTO_RELOAD,
        status__in=(TopUpStatus.SUCCEEDED, *UNRESOLVED),
        created_at__gte=month_start,
    ).aggregate(total=Sum("amount"))["total"]
    return total or 0


def auto_reload_run(*, wallet_id: int, trigger: str) -> TopUp | None:
    """Top the wallet up if it still needs it, at most one reload in flight per wallet.

    The claim is one conditional UPDATE of `auto_reload_in_flight_since` (a stale claim,
    older than WALLET_AUTO_RELOAD_IN_FLIGHT_TIMEOUT_SECONDS, is taken over); the claim is
    released whatever happens. The reload is an intent (one per trigger), charged outside any
    transaction. Returns the TopUp, or None when nothing was due.
    Raises GatewayUnavailable (the caller retries: the same trigger continues the same intent).
    """
    now = timezone.now()
    stale = now - timedelta(seconds=settings.WALLET_AUTO_RELOAD_IN_FLIGHT_TIMEOUT_SECONDS)
    claimed = (
        Wallet.objects.filter(pk=wallet_id, auto_reload_enabled=True)
        .filter(Q(auto_reload_in_flight_since__isnull=True) | Q(auto_reload_in_flight_since__lt=stale))
        .update(auto_reload_in_flight_since=now)
    )
    if not claimed:
        return None
    try:
        top_up = _auto_reload_intent(wallet_id=wallet_id, trigger=trigger, now=now)
        if top_up is None:
            return None
        top_up = top_up_execute(top_up=top_up)
        _auto_reload_record_outcome(top_up=top_up)
        return top_up
    finally:
        Wallet.objects.filter(pk=wallet_id, auto_reload_in_flight_since=now).update(auto_reload_in_flight_since=None)


def _auto_reload_intent(*, wallet_id: int, trigger: str, now) -> TopUp | None:
    """The trigger's reload intent: the unresolved one already made, or a new one if a reload is
    due (available below the threshold, under the monthly cap, a card to charge).
    Precondition: this caller holds the wallet's in-flight claim."""
    wallet = Wallet.objects.select_related("account").get(pk=wallet_id)
    existing = TopUp.objects.filter(wallet=wallet, trigger=trigger).first()
    if existing is not None:
        return existing if existing.status in UNRESOLVED else None
    if wallet.account.available >= wallet.auto_reload_threshold:
        return None
    amount = wallet.auto_reload_amount
    if auto_reload_month_total(wallet=wallet, now=now) + amount > wallet.auto_reload_monthly_cap:
        logger.info("auto-reload skipped: monthly cap reached", extra={"wallet": wallet.id})
        return None
    chosen = PaymentMethod.objects.filter(pk=wallet.auto_reload_payment_method_id, wallet=wallet).first()
    method = chosen or PaymentMethod.objects.filter(wallet=wallet, is_default=True).first()
    if method is None:
        with transaction.atomic():
            _auto_reload_disable(
                wallet=_lock_wallet(wallet), reason="Auto-reload turned off: there is no payment method to charge."
            )
        return None
    return top_up_begin(
        wallet=wallet, amount=amount, payment_method=method, origin=TopUpOrigin.AUTO_RELOAD, trigger=trigger
    )


def _auto_reload_record_outcome(*, top_up: TopUp) -> None:
    if top_up.status == TopUpStatus.FAILED:
        auto_reload_record_failure(wallet=top_up.wallet, failure_code=top_up.failure_code)
    elif top_up.status == TopUpStatus.SUCCEEDED:
        Wallet.objects.filter(pk=top_up.wallet_id, auto_reload_consecutive_failures__gt=0).update(
            auto_reload_consecutive_failures=0
        )


def _auto_reload_disable(*, wallet: Wallet, reason: str) -> None:
    wallet.auto_reload_enabled = False
    wallet.auto_reload_disabled_reason = reason
    wallet.save(update_fields=["auto_reload_enabled", "auto_reload_disabled_reason"])
    notify.auto_reload_disabled(wallet=wallet)


@retry_on_lock_conflict
@transaction.atomic
def auto_reload_record_failure(*, wallet: Wallet, failure_code: str) -> Wallet:
    """Count a failed reload; after WALLET_AUTO_RELOAD_MAX_FAILURES in a row, turn auto-reload off
    with a reason the student sees in GET /wallet."""
    wallet = _lock_wallet(wallet)
    wallet.auto_reload_consecutive_failures += 1
    wallet.save(update_fields=["auto_reload_consecutive_failures"])
    notify.auto_reload_failed(wallet=wallet, failure_code=failure_code)
    limit = settings.WALLET_AUTO_RELOAD_MAX_FAILURES
    if wallet.auto_reload_consecutive_failures >= limit:
        _auto_reload_disable(
            wallet=wallet,
            reason=f"Auto-reload turned off after {limit} failed charges in a row (last: {failure_code}).",
        )
    return wallet
