"""Tutor earnings: one record per earning event, payout methods and withdrawals.

The money itself lives in the ledger (tutor pending / available / payout clearing
accounts); these rows describe it for tutors (fee breakdown, when it clears) and
drive clearance and payouts. The app knows nothing of lessons: the booking flow
(`wemaster.lessons`) records earnings through `earnings.services` with the lesson id,
subject, student and minutes copied in, so analytics need no join outside this app.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from wemaster.core.money import format_minor


class EarningKind(models.TextChoices):
    LESSON = "lesson", "Lesson"
    CANCELLATION_FEE = "cancellation_fee", "Late cancellation fee"


class EarningStatus(models.TextChoices):
    PENDING = "pending", "Pending clearance"
    AVAILABLE = "available", "Available"
    REFUNDED = "refunded", "Refunded"


class Earning(models.Model):
    """What a tutor earned from one lesson: gross (the charge), commission, net.

    `available_on` is when clearance moves `net` from pending to available.
    """

    tutor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="earnings")
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    subject = models.ForeignKey("accounts.Subject", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=32, choices=EarningKind.choices, default=EarningKind.LESSON)
    lesson_id = models.BigIntegerField(help_text="The lesson this earning comes from (wemaster.lessons).")
    minutes = models.PositiveIntegerField(help_text="Minutes taught (0 for a cancellation fee).")
    currency = models.CharField(max_length=3)
    gross = models.BigIntegerField()
    commission = models.BigIntegerField()
    net = models.BigIntegerField()
    commission_percent = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=16, choices=EarningStatus.choices, default=EarningStatus.PENDING)
    earned_at = models.DateTimeField()
    available_on = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lesson_id", "kind"], name="earnings_one_earning_per_lesson_and_kind"),
            models.CheckConstraint(
                condition=Q(gross=models.F("commission") + models.F("net")), name="earnings_gross_split"
            ),
            models.CheckConstraint(condition=Q(commission__gte=0) & Q(net__gte=0), name="earnings_split_not_negative"),
        ]
        indexes = [
            models.Index(fields=["tutor", "earned_at"], name="earnings_tutor_earned_at"),
            models.Index(fields=["tutor", "-id"], name="earnings_tutor_recent"),
            models.Index(fields=["status", "available_on"], name="earnings_clearance_due"),
        ]

    def __str__(self):
        return (
            f"Earning #{self.pk} — {self.tutor.display_name} — {format_minor(self.net)} {self.currency} ({self.status})"
        )


class PayoutMethodQuerySet(models.QuerySet):
    def active(self) -> "PayoutMethodQuerySet":
        return self.filter(removed_at__isnull=True)


class PayoutMethod(models.Model):
    """A tokenized bank account (never an account number).

    Removing one only marks it (`removed_at`): a withdrawal keeps the account it was requested to
    (its foreign key protects the row) and is paid there even when the method is removed while
    the payout is in flight. A removed method is hidden from the tutor and refused for new
    withdrawals, and is never the default.
    """

    tutor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="payout_methods")
    token = models.CharField(max_length=64)
    bank_name = models.CharField(max_length=80)
    last4 = models.CharField(max_length=4)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    objects = PayoutMethodQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(removed_at__isnull=True) | Q(is_default=False), name="earnings_removed_method_not_default"
            )
        ]
        indexes = [models.Index(fields=["tutor", "-id"], name="earnings_payout_method_recent")]

    def __str__(self):
        return f"{self.bank_name} ****{self.last4}"


class WithdrawalStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    PROCESSING = "processing", "Processing"
    PAID = "paid", "Paid"
    FAILED = "failed", "Failed"


IN_FLIGHT = (WithdrawalStatus.REQUESTED, WithdrawalStatus.PROCESSING)


def new_provider_key() -> str:
    return f"payout_{uuid.uuid4().hex}"


class Withdrawal(models.Model):
    """A payout of available earnings. At most one in flight per tutor (a partial unique index).

    The row is the payout's intent: committed before the provider is called. `round` counts
    staff retries of a failed payout; each round has its own `provider_key` (the idempotency
    key at the provider, never reused) and its own ledger references (`gateway_key`).
    """

    tutor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="withdrawals")
    payout_method = models.ForeignKey(PayoutMethod, on_delete=models.PROTECT, related_name="withdrawals")
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=WithdrawalStatus.choices, default=WithdrawalStatus.REQUESTED)
    round = models.PositiveSmallIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    failure_reason = models.CharField(max_length=200, blank=True)
    provider_reference = models.CharField(max_length=64, blank=True)
    provider_key = models.CharField(max_length=64, unique=True, default=new_provider_key, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tutor"], condition=Q(status__in=IN_FLIGHT), name="earnings_one_withdrawal_in_flight"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="earnings_withdrawal_amount_positive"),
        ]
        indexes = [
            models.Index(fields=["tutor", "-id"], name="earnings_withdrawal_recent"),
            models.Index(fields=["tutor", "status"], name="earnings_withdrawal_status"),
        ]

    def __str__(self):
        amount = f"{format_minor(self.amount)} {self.currency}"
        return f"Withdrawal #{self.pk} — {self.tutor.display_name} — {amount} ({self.status})"

    @property
    def gateway_key(self) -> str:
        """The round's ledger reference: the withdrawal id (plus the retry round)."""
        return f"withdrawal:{self.pk}" if self.round == 0 else f"withdrawal:{self.pk}:round:{self.round}"
