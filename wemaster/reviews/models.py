"""Reviews: a student's stars and words on a completed lesson, and the tutor's one reply."""

from django.conf import settings
from django.db import models
from django.db.models import Q

RATING_MIN, RATING_MAX = 1, 5


class HiddenReason(models.TextChoices):
    STAFF = "staff", "Hidden by staff"
    REFUND = "refund", "The lesson was refunded"


class Review(models.Model):
    """One review per lesson (the unique `lesson` makes concurrent submissions one), by its
    student (`student`), about its tutor (`tutor`, copied from the lesson so the tutor's list is
    one index scan). The student may edit it for REVIEWS_EDIT_WINDOW_DAYS; the tutor may reply
    once. A hidden review (`hidden_reason`: staff, or the lesson refunded) is left out of the
    public list and of the tutor's `rating` and `review_count`."""

    lesson = models.OneToOneField("lessons.Lesson", on_delete=models.PROTECT, related_name="review")
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews_written")
    tutor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews_received")
    rating = models.PositiveSmallIntegerField()
    text = models.TextField(max_length=2000, blank=True, default="")
    reply = models.TextField(max_length=2000, blank=True, default="")
    replied_at = models.DateTimeField(null=True, blank=True)
    is_hidden = models.BooleanField(default=False)
    hidden_reason = models.CharField(max_length=16, choices=HiddenReason.choices, blank=True, default="")
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    hidden_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__gte=RATING_MIN, rating__lte=RATING_MAX), name="reviews_rating_1_to_5"
            ),
            models.CheckConstraint(
                condition=Q(is_hidden=False, hidden_reason="", hidden_at__isnull=True)
                | (Q(is_hidden=True) & ~Q(hidden_reason="") & Q(hidden_at__isnull=False)),
                name="reviews_hidden_recorded_whole",
            ),
            models.CheckConstraint(
                condition=Q(reply="", replied_at__isnull=True) | (~Q(reply="") & Q(replied_at__isnull=False)),
                name="reviews_reply_recorded_whole",
            ),
        ]
        indexes = [
            # The public list: a tutor's visible reviews, newest first (keyset on id).
            models.Index(fields=["tutor", "-id"], condition=Q(is_hidden=False), name="reviews_tutor_visible"),
        ]

    def __str__(self):
        return f"Review #{self.pk} — {self.student.display_name} on {self.tutor.display_name} ({self.rating}★)"
