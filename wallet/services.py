"""Wallet writes: the wallet row, payment methods, top-ups and auto-reload.

Money only moves through `wemaster.ledger.services`; a top-up is a gateway charge
followed by one ledger transfer from the external-funding account to the wallet.
"""

import hashlib
import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from wallet.errors import NotAStudent, PaymentMethodDeclined
from wallet.models import PaymentMethod, TopUp, TopUpOrigin, TopUpStatus, Wallet
from wemaster.core.errors import ValidationFailed
from wemaster.core.money import format_minor
from wemaster.core.payments import CardDeclined, get_gateway
from wemaster.ledger import services as ledger
from wemaster.ledger.models import AccountKind, TransferKind

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
    """Serialize changes to one wallet's payment methods and settings. Call inside atomic."""
    return Wallet.objects.select_for_update().get(pk=wallet.pk)


@transaction.atomic
def payment_method_add(*, wallet: Wallet, token: str, make_default: bool = False) -> PaymentMethod:
    """Attach a tokenized card. The first card becomes the default.

    Raises PaymentMethodDeclined, ValidationFailed (WALLET_MAX_PAYMENT_METHODS reached).
    """
    try:
        card = get_gateway().card_details(token=token)
    except CardDeclined as exc:
        raise PaymentMethodDeclined(exc.detail) from exc
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
    if not low <= amount <= high:
        raise ValidationFailed(
            fields={field: [f"Must be between {format_minor(low)} and {format_minor(high)} {settings.CURRENCY}."]}
        )


@transaction.atomic
def top_up_charge(
    *,
    wallet: Wallet,
    amount: int,
    payment_method: PaymentMethod,
    origin: str = TopUpOrigin.STUDENT,
    trigger: str = "",
    client_key: str = "",
) -> TopUp:
    """Charge the card and credit the wallet. Precondition: the amount is within the limits.

    A declined card returns the TopUp with status `failed` (committed, no money moved).
    Raises GatewayUnavailable (transient) so that nothing at all is stored.
    """
    top_up = TopUp.objects.create(
        wallet=wallet,
        payment_method=payment_method,
        amount=amount,
        currency=settings.CURRENCY,
        origin=origin,
        trigger=trigger,
        client_key=client_key,
    )
    try:
        provider_reference = get_gateway().charge(
            source=payment_method.gateway_token,
            amount=amount,
            currency=top_up.currency,
            idempotency_key=top_up.gateway_idempotency_key,
        )
    except CardDeclined:
        top_up.status, top_up.failure_code = TopUpStatus.FAILED, CardDeclined.code
        top_up.save(update_fields=["status", "failure_code"])
        return top_up
    external = ledger.platform_account(kind=AccountKind.EXTERNAL_FUNDING, currency=top_up.currency)
    top_up.transfer = ledger.transfer(
        kind=TransferKind.TOP_UP,
        reference=f"top_up:{top_up.id}",
        currency=top_up.currency,
        legs=[ledger.Leg(external.id, -amount), ledger.Leg(wallet.account_id, amount)],
        description=f"Top-up {top_up.id} ({origin})",
    )
    top_up.status, top_up.provider_reference = TopUpStatus.SUCCEEDED, provider_reference
    top_up.save(update_fields=["status", "transfer", "provider_reference"])
    return top_up


def top_up_create(
    *, wallet: Wallet, amount: int, payment_method_id: int | None = None, idempotency_key: str | None = None
) -> TopUp:
    """A student's top-up from one of their cards (the default when none is named).

    With the request's `idempotency_key`, the gateway is called with a key derived from it,
    so a retry after a transient failure can never charge the card twice.

    Raises ValidationFailed (amount outside the settings' limits, unknown card),
    GatewayUnavailable. A declined card comes back as a failed TopUp.
    """
    _check_top_up_amount(amount)
    method = _payment_method_for(wallet=wallet, payment_method_id=payment_method_id)
    client_key = hashlib.sha256(idempotency_key.encode()).hexdigest() if idempotency_key else ""
    return top_up_charge(wallet=wallet, amount=amount, payment_method=method, client_key=client_key)


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
    """Cents auto-reloaded successfully since the start of this calendar month (UTC)."""
    month_start = _month_start(now or timezone.now())
    total = TopUp.objects.filter(
        wallet=wallet, origin=TopUpOrigin.AUTO_RELOAD, status=TopUpStatus.SUCCEEDED, created_at__gte=month_start
    ).aggregate(total=Sum("amount"))["total"]
    return total or 0


def auto_reload_run(*, wallet_id: int, trigger: str) -> TopUp | None:
    """Top the wallet up if it still needs it, at most one reload in flight per wallet.

    The claim is one conditional UPDATE of `auto_reload_in_flight_since` (a stale claim,
    older than WALLET_AUTO_RELOAD_IN_FLIGHT_TIMEOUT_SECONDS, is taken over); the claim is
    released whatever happens. Returns the TopUp made, or None when nothing was due.
    Raises GatewayUnavailable (the caller retries; the same trigger reuses the gateway key).
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
        return _auto_reload_claimed(wallet_id=wallet_id, trigger=trigger, now=now)
    finally:
        Wallet.objects.filter(pk=wallet_id, auto_reload_in_flight_since=now).update(auto_reload_in_flight_since=None)


@transaction.atomic
def _auto_reload_claimed(*, wallet_id: int, trigger: str, now) -> TopUp | None:
    """Precondition: this caller holds the wallet's in-flight claim."""
    wallet = Wallet.objects.select_related("account").get(pk=wallet_id)
    if wallet.account.available >= wallet.auto_reload_threshold:
        return None
    if TopUp.objects.filter(wallet=wallet, trigger=trigger).exists():
        return None
    amount = wallet.auto_reload_amount
    if auto_reload_month_total(wallet=wallet, now=now) + amount > wallet.auto_reload_monthly_cap:
        logger.info("auto-reload skipped: monthly cap reached", extra={"wallet": wallet.id})
        return None
    chosen = PaymentMethod.objects.filter(pk=wallet.auto_reload_payment_method_id, wallet=wallet).first()
    method = chosen or PaymentMethod.objects.filter(wallet=wallet, is_default=True).first()
    if method is None:
        _auto_reload_disable(wallet=wallet, reason="Auto-reload turned off: there is no payment method to charge.")
        return None
    top_up = top_up_charge(
        wallet=wallet, amount=amount, payment_method=method, origin=TopUpOrigin.AUTO_RELOAD, trigger=trigger
    )
    if top_up.status == TopUpStatus.FAILED:
        auto_reload_record_failure(wallet=wallet, failure_code=top_up.failure_code)
    elif wallet.auto_reload_consecutive_failures:
        wallet.auto_reload_consecutive_failures = 0
        wallet.save(update_fields=["auto_reload_consecutive_failures"])
    return top_up


def _auto_reload_disable(*, wallet: Wallet, reason: str) -> None:
    wallet.auto_reload_enabled = False
    wallet.auto_reload_disabled_reason = reason
    wallet.save(update_fields=["auto_reload_enabled", "auto_reload_disabled_reason"])


@transaction.atomic
def auto_reload_record_failure(*, wallet: Wallet, failure_code: str) -> Wallet:
    """Count a failed reload; after WALLET_AUTO_RELOAD_MAX_FAILURES in a row, turn auto-reload off
    with a reason the student sees in GET /wallet."""
    wallet = _lock_wallet(wallet)
    wallet.auto_reload_consecutive_failures += 1
    wallet.save(update_fields=["auto_reload_consecutive_failures"])
    limit = settings.WALLET_AUTO_RELOAD_MAX_FAILURES
    if wallet.auto_reload_consecutive_failures >= limit:
        _auto_reload_disable(
            wallet=wallet,
            reason=f"Auto-reload turned off after {limit} failed charges in a row (last: {failure_code}).",
        )
    return wallet
