"""Double-entry ledger (docs/ARCHITECTURE.md, Money: Ledger).

Every movement is a `Transfer` whose `Entry` rows sum to zero. An account's `balance`
is updated in the same transaction as its entries, so reads are O(1); `held` is money
reserved by pending `Hold`s (two-phase, as TigerBeetle's pending/post/void).
Amounts are integer minor units; an entry's sign is its effect on its account.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from wemaster.core.money import format_minor


class AccountKind(models.TextChoices):
    STUDENT_WALLET = "student_wallet", "Student wallet"
    TUTOR_PENDING = "tutor_pending", "Tutor pending earnings"
    TUTOR_AVAILABLE = "tutor_available", "Tutor available earnings"
    PAYOUT_CLEARING = "payout_clearing", "Payout clearing"
    PLATFORM_REVENUE = "platform_revenue", "Platform revenue"
    EXTERNAL_FUNDING = "external_funding", "External (gateway) funding"
    TUTOR_RECEIVABLE = "tutor_receivable", "Tutor receivable (owed to the platform)"


# Accounts owned by the platform itself; the others belong to one user.
PLATFORM_KINDS = (AccountKind.PLATFORM_REVENUE, AccountKind.EXTERNAL_FUNDING)
# A balance is what the platform owes the account's owner. The gateway mirror goes negative by
# the money that entered the system; a tutor receivable is negative by what the tutor owes the
# platform (a refund took back more than the tutor still had) and never positive.
MAY_GO_NEGATIVE = (AccountKind.EXTERNAL_FUNDING, AccountKind.TUTOR_RECEIVABLE)
NEVER_POSITIVE = (AccountKind.TUTOR_RECEIVABLE,)


class Account(models.Model):
    kind = models.CharField(max_length=32, choices=AccountKind.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_accounts"
    )
    currency = models.CharField(max_length=3)
    balance = models.BigIntegerField(default=0)
    held = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "kind", "currency"],
                condition=Q(owner__isnull=False),
                name="ledger_account_one_per_owner_kind_currency",
            ),
            models.UniqueConstraint(
                fields=["kind", "currency"],
                condition=Q(owner__isnull=True),
                name="ledger_account_one_platform_account_per_kind_currency",
            ),
            models.CheckConstraint(
                condition=Q(balance__gte=0) | Q(kind__in=MAY_GO_NEGATIVE),
                name="ledger_account_balance_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(balance__lte=0) | ~Q(kind__in=NEVER_POSITIVE),
                name="ledger_account_receivable_not_positive",
            ),
            models.CheckConstraint(
                condition=Q(held=0) | (Q(held__gt=0) & Q(held__lte=F("balance"))),
                name="ledger_account_held_within_balance",
            ),
        ]

    def __str__(self):
        owner = f" of {self.owner.display_name}" if self.owner_id else ""
        return f"{self.get_kind_display()} #{self.pk}{owner} ({self.currency})"

    @property
    def available(self) -> int:
        return self.balance - self.held


class TransferKind(models.TextChoices):
    TOP_UP = "top_up", "Top-up"
    LESSON_CHARGE = "lesson_charge", "Lesson charge"
    LESSON_CANCELLATION_FEE = "lesson_cancellation_fee", "Late cancellation fee"
    REFUND = "refund", "Refund"
    EARNING_CLEARANCE = "earning_clearance", "Earnings cleared"
    WITHDRAWAL = "withdrawal", "Withdrawal requested"
    PAYOUT = "payout", "Payout sent"
    PAYOUT_REVERSAL = "payout_reversal", "Failed payout returned"
    ADJUSTMENT = "adjustment", "Manual adjustment"


class Transfer(models.Model):
    """One money movement. `(kind, reference)` is unique: each business event moves money once."""

    kind = models.CharField(max_length=32, choices=TransferKind.choices)
    reference = models.CharField(max_length=120)
    currency = models.CharField(max_length=3)
    description = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "reference"], name="ledger_transfer_once_per_reference")]
        indexes = [models.Index(fields=["reference"], name="ledger_transfer_reference")]

    def __str__(self):
        return f"{self.kind} {self.reference}"


class Entry(models.Model):
    """Append-only (a PostgreSQL trigger refuses UPDATE and DELETE)."""

    transfer = models.ForeignKey(Transfer, on_delete=models.PROTECT, related_name="entries")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries")
    amount = models.BigIntegerField()
    balance_after = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "entries"
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="ledger_entry_amount_not_zero")]
        indexes = [models.Index(fields=["account", "-id"], name="ledger_entry_account_recent")]

    def __str__(self):
        sign = "+" if self.amount >= 0 else ""
        return f"Entry #{self.pk}: {sign}{format_minor(self.amount)} on account #{self.account_id}"


class HoldStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    POSTED = "posted", "Posted"
    VOIDED = "voided", "Voided"


class Hold(models.Model):
    """Money reserved on an account (`account.held`) until posted or voided, exactly once."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="holds")
    amount = models.BigIntegerField()
    status = models.CharField(max_length=16, choices=HoldStatus.choices, default=HoldStatus.PENDING)
    reference = models.CharField(max_length=120, unique=True)
    transfer = models.OneToOneField(Transfer, on_delete=models.PROTECT, null=True, blank=True, related_name="hold")
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="ledger_hold_amount_positive")]
        indexes = [models.Index(fields=["account", "status"], name="ledger_hold_account_status")]

    def __str__(self):
        return f"Hold {self.reference} — {format_minor(self.amount)} ({self.status})"
