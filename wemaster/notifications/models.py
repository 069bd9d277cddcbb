"""Notifications: one row per recipient and cause, and the kinds a user turned email off for.

Hot paths and the index each one uses:
- the list and the unread count: `(recipient, id)`, the unread ones a partial index of their own;
- the email digest's scan: a partial index on `created_at` of the rows neither read nor emailed.
Exactly once per cause: `(recipient, kind, cause_key)` is unique and rows are inserted with
ON CONFLICT DO NOTHING in the cause's own transaction (services.notification_create).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class NotificationKind(models.TextChoices):
    LESSON_BOOKED = "lesson_booked", "Lesson booked"
    LESSON_CANCELLED = "lesson_cancelled", "Lesson cancelled"
    LESSON_COMPLETED = "lesson_completed", "Lesson completed"
    LESSON_PROBLEM_REPORTED = "lesson_problem_reported", "Problem reported with a lesson"
    REFUND_REQUESTED = "refund_requested", "Refund requested"
    REFUND_DECIDED = "refund_decided", "Refund decided"
    PAYOUT_PAID = "payout_paid", "Payout paid"
    PAYOUT_FAILED = "payout_failed", "Payout failed"
    AUTO_RELOAD_FAILED = "auto_reload_failed", "Auto-reload failed"
    AUTO_RELOAD_DISABLED = "auto_reload_disabled", "Auto-reload turned off"
    POST_REPLY = "post_reply", "Reply on your post"
    ANSWER_ACCEPTED = "answer_accepted", "Your answer was accepted"
    MESSAGES = "messages", "Messages while you were away"


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", db_index=False
    )
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    # What caused it, e.g. "lesson:42" or "conv:7:2026-12-01T21:00:00Z": a second call for the
    # same cause (a retried task, a redelivered event) inserts nothing.
    cause_key = models.CharField(max_length=120)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["recipient", "kind", "cause_key"], name="notifications_one_per_cause"),
        ]
        indexes = [
            models.Index(fields=["recipient", "-id"], name="notifications_recipient_id"),
            models.Index(fields=["recipient", "-id"], condition=Q(read_at__isnull=True), name="notifications_unread"),
            models.Index(
                fields=["created_at"],
                condition=Q(read_at__isnull=True, emailed_at__isnull=True),
                name="notifications_to_email",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} for user {self.recipient_id}"


class EmailOptOut(models.Model):
    """The user wants no email for `kind` (no row: email on, the default)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="notifications_email_opt_out_unique")]

    def __str__(self):
        return f"no {self.kind} email for user {self.user_id}"
