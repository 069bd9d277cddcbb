"""Review reads, shaped for their callers."""

from django.db.models import QuerySet

from wemaster.accounts.models import Role, TutorProfile
from wemaster.reviews.models import Review


def tutor_reviews(*, tutor_id: int) -> QuerySet[Review]:
    """A tutor's visible reviews with what the public list shows (the author's name, the lesson's
    subject) joined in: one query a page whatever its size. Unordered: the caller's keyset
    pagination orders it (newest first)."""
    return (
        Review.objects.filter(tutor_id=tutor_id, is_hidden=False)
        .select_related("student", "lesson__subject")
        .only(
            "id",
            "rating",
            "text",
            "reply",
            "replied_at",
            "created_at",
            "edited_at",
            "student__id",
            "student__display_name",
            "lesson__id",
            "lesson__subject__id",
            "lesson__subject__name",
        )
    )


def tutor_exists(*, tutor_id: int) -> bool:
    """Whether `tutor_id` is an active tutor's (whose reviews may be listed)."""
    return TutorProfile.objects.filter(pk=tutor_id, user__role=Role.TUTOR, user__is_active=True).exists()
