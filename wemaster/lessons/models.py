"""Lessons and refund requests: the booking flow tying a student's wallet to a tutor's earnings."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from wemaster.core.money import format_minor


class LessonStatus(models.TextChoices):
    BOOKED = "booked", "Booked"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    DISPUTED = "disputed", "Disputed (problem reported, staff decide)"


# Statuses whose lesson still occupies the tutor's slot (a disputed lesson took place).
OCCUPYING = (LessonStatus.BOOKED, LessonStatus.DISPUTED)


class DisputeOutcome(models.TextChoices):
    COMPLETE = "complete", "Complete: the tutor is paid"
    REFUND = "refund", "Refund: the student pays nothing"


class Lesson(models.Model):
    """A booked slot. `price` is held on the student's wallet (`hold`) while booked or disputed;
    completion captures it into tutor net + platform `commission`; cancellation voids it or
    captures a late-cancellation `cancellation_fee` (split into tutor net + `commission` too).
    A problem the student reports after the end (`problem_reason`, `reported_at`) makes it
    disputed until staff resolve it (`resolution`, `resolved_by`, `resolved_at`)."""

    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="lessons_booked")
    tutor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="lessons_taught")
    subject = models.ForeignKey("accounts.Subject", on_delete=models.PROTECT, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    duration_minutes = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    price = models.BigIntegerField(help_text="Minor units held at booking and charged at completion.")
    commission = models.BigIntegerField(
        default=0, help_text="Platform commission taken from the charge (the price, or the late-cancellation fee)."
    )
    cancellation_fee = models.BigIntegerField(default=0, help_text="Charged to the student on a late cancellation.")
    status = models.CharField(max_length=16, choices=LessonStatus.choices, default=LessonStatus.BOOKED)
    hold = models.OneToOneField("ledger.Hold", on_delete=models.PROTECT, related_name="lesson")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # The text columns also default to '' in the database: bench/seed.py writes lessons with COPY.
    problem_reason = models.TextField(
        max_length=2000, blank=True, default="", db_default="", help_text="The student's problem report."
    )
    reported_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=16, choices=DisputeOutcome.choices, blank=True, default="", db_default="")
    resolution_note = models.TextField(max_length=2000, blank=True, default="", db_default="")
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0), name="lessons_price_positive"),
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="lessons_ends_after_start"),
            models.CheckConstraint(
                condition=Q(commission__gte=0) & Q(commission__lte=models.F("price")), name="lessons_commission_bounds"
            ),
            models.CheckConstraint(
                condition=~Q(status="disputed") | Q(reported_at__isnull=False), name="lessons_disputed_was_reported"
            ),
            models.CheckConstraint(
                condition=Q(resolution="", resolved_by__isnull=True, resolved_at__isnull=True)
                | (~Q(resolution="") & Q(resolved_by__isnull=False, resolved_at__isnull=False)),
                name="lessons_resolution_recorded_whole",
            ),
        ]
        indexes = [
            models.Index(fields=["tutor", "status", "starts_at"], name="lessons_tutor_slots"),
            models.Index(fields=["student", "-id"], name="lessons_student_recent"),
            models.Index(fields=["tutor", "-id"], name="lessons_tutor_recent"),
            models.Index(fields=["status", "ends_at"], name="lessons_auto_complete_due"),
        ]

    def __str__(self):
        return f"Lesson #{self.pk} — {self.tutor.display_name} with {self.student.display_name} ({self.status})"

    @property
    def charge_reference(self) -> str:
        return f"lesson:{self.pk}"


class RefundStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class RefundRequest(models.Model):
    """A student's request to get a completed lesson's charge back; staff decide once, never a
    staff member who is the lesson's student or tutor; `decided_by` records who decided.

    On approval: `amount` back to the wallet; `commission_returned` from platform revenue,
    `tutor_recovered` from the tutor's pending or available earnings, and `platform_covered`
    (what the tutor could not repay at once: money already withdrawn or in a payout in flight)
    debited to the tutor's receivable: the platform advances it and recovers it from the tutor's
    next cleared earnings and failed payouts' returned money.
    """

    lesson = models.OneToOneField(Lesson, on_delete=models.PROTECT, related_name="refund_request")
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="refund_requests")
    reason = models.TextField(max_length=2000)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=RefundStatus.choices, default=RefundStatus.PENDING)
    commission_returned = models.BigIntegerField(default=0)
    tutor_recovered = models.BigIntegerField(default=0)
    platform_covered = models.BigIntegerField(default=0)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["student", "-id"], name="lessons_refund_student_recent"),
            models.Index(fields=["status", "-id"], name="lessons_refund_status"),
        ]

    def __str__(self):
        amount = f"{format_minor(self.amount)} {self.currency}"
        return f"Refund request #{self.pk} — {self.student.display_name} — {amount} ({self.status})"
