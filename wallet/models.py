"""Student wallet: the ledger account's companion row, payment methods and top-ups.

The money itself lives in the ledger (`wemaster.ledger`): a wallet's balance and held
amounts are its `account` row, never a copy here.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from wemaster.core.money import format_minor
from wemaster.ledger.models import Account, Transfer


class Wallet(models.Model):
    """One per student, created on first use. Holds the auto-reload settings and state."""

    student = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="wallet")
    account = models.OneToOneField(Account, on_delete=models.PROTECT, related_name="wallet")
    auto_reload_enabled = models.BooleanField(default=False)
    auto_reload_threshold = models.BigIntegerField(help_text="Reload when available drops below this (cents).")
    auto_reload_amount = models.BigIntegerField(help_text="Amount of each reload (cents).")
    auto_reload_monthly_cap = models.BigIntegerField(help_text="Most auto-reloaded per calendar month (cents).")
    auto_reload_payment_method = models.ForeignKey(
        "PaymentMethod",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Charged by auto-reload; the default method when empty.",
    )
    auto_reload_consecutive_failures = models.PositiveSmallIntegerField(default=0)
    auto_reload_disabled_reason = models.CharField(max_length=200, blank=True)
    # Set by the conditional UPDATE that claims the one reload allowed in flight.
    auto_reload_in_flight_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(auto_reload_threshold__gte=0), name="wallet_threshold_not_negative"),
            models.CheckConstraint(condition=Q(auto_reload_amount__gt=0), name="wallet_reload_amount_positive"),
            models.CheckConstraint(condition=Q(auto_reload_monthly_cap__gte=0), name="wallet_monthly_cap_not_negative"),
        ]

    def __str__(self):
        return f"Wallet of {self.student.display_name}"


class PaymentMethod(models.Model):
    """A tokenized card: the gateway token plus what a person may see (brand, last4, expiry).

    No card number is ever stored; the token is the provider's reference to the card.
    """

    wallet = models.ForeignKey(Wallet, on_delete=models.CASCADE, related_name="payment_methods")
    gateway_token = models.CharField(max_length=64)
    brand = models.CharField(max_length=32)
    last4 = models.CharField(max_length=4)
    exp_month = models.PositiveSmallIntegerField()
    exp_year = models.PositiveSmallIntegerField()
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["wallet"], condition=Q(is_default=True), name="wallet_one_default_payment_method"
            )
        ]

    def __str__(self):
        return f"{self.brand} •••• {self.last4}"


class TopUpStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # committed, the provider's answer not heard yet
    PROCESSING = "processing", "Processing"  # the provider did not answer: resolved by asking it by key
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class TopUpOrigin(models.TextChoices):
    STUDENT = "student", "Requested by the student"
    AUTO_RELOAD = "auto_reload", "Auto-reload"


UNRESOLVED = (TopUpStatus.PENDING, TopUpStatus.PROCESSING)


def new_provider_key() -> str:
    return f"top_up_{uuid.uuid4().hex}"


class TopUp(models.Model):
    """One charge of a card into the wallet: the intent committed before the provider is called.

    `provider_key` is the intent's own idempotency key at the provider, never reused; the
    credit is the amount the provider reports, in a second transaction (services). A failed
    attempt is kept and moves no money.
    """

    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="top_ups")
    payment_method = models.ForeignKey(
        PaymentMethod, on_delete=models.SET_NULL, null=True, blank=True, related_name="top_ups"
    )
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=TopUpStatus.choices, default=TopUpStatus.PENDING)
    origin = models.CharField(max_length=16, choices=TopUpOrigin.choices, default=TopUpOrigin.STUDENT)
    # Auto-reload only: the ledger event that caused it; one reload per event.
    trigger = models.CharField(max_length=120, blank=True)
    # Student top-ups: a digest of the request's Idempotency-Key, unique per wallet for ever (the
    # key cache expires, this does not): a retry finds its intent, an old key can never be reused.
    client_key = models.CharField(max_length=64, blank=True)
    provider_key = models.CharField(max_length=64, unique=True, default=new_provider_key, editable=False)
    failure_code = models.CharField(max_length=64, blank=True)
    provider_reference = models.CharField(max_length=64, blank=True)
    transfer = models.OneToOneField(Transfer, on_delete=models.PROTECT, null=True, blank=True, related_name="top_up")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "top-up"
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="wallet_top_up_amount_positive"),
            models.UniqueConstraint(
                fields=["wallet", "trigger"], condition=~Q(trigger=""), name="wallet_one_reload_per_trigger"
            ),
            models.UniqueConstraint(
                fields=["wallet", "client_key"], condition=~Q(client_key=""), name="wallet_one_top_up_per_client_key"
            ),
            models.CheckConstraint(
                condition=Q(status=TopUpStatus.SUCCEEDED, transfer__isnull=False)
                | (~Q(status=TopUpStatus.SUCCEEDED) & Q(transfer__isnull=True)),
                name="wallet_top_up_transfer_iff_succeeded",
            ),
        ]
        indexes = [
            models.Index(fields=["wallet", "origin", "status", "created_at"], name="wallet_topup_monthly"),
            models.Index(fields=["wallet", "-id"], name="wallet_topup_recent"),
            models.Index(fields=["updated_at"], condition=Q(status__in=UNRESOLVED), name="wallet_topup_unresolved"),
        ]

    def __str__(self):
        return f"Top-up #{self.pk} — {format_minor(self.amount)} {self.currency} ({self.status})"
