"""Reviews: the one place that writes them and keeps each tutor's `rating` and `review_count`.

review_create           the lesson's student, once, on a completed lesson that was not refunded
review_edit             the author, within REVIEWS_EDIT_WINDOW_DAYS of writing it
review_reply            the lesson's tutor, once
review_set_hidden       staff hide a review or show it again (the admin action)
review_hide_for_refund  the refund approval hides its lesson's review

The rating. Every change that can move it locks the tutor's profile row and then recomputes the
sum and count of the tutor's visible reviews with one aggregate query, in the review's own
transaction: the aggregate is a statement after the lock, so under READ COMMITTED it sees every
review whose transaction held the lock before, and no two changes of one tutor's reviews can
compute from the same stale count. `rating` is the mean rounded half up to 2 places (0 with no
review: the API shows null then).

Locks follow wemaster.ledger.locks: the lesson (step 1) when a review is created, the review
row and then the tutor profile (step 5) when one changes; a refund approval takes them after the
lesson, the request and the earning, before any account.

After commit: the tutor directory's cached pages (`tutor_directory_changed`) and the tutor's
cached first page of reviews (`tutor_reviews_tag`) are invalidated; a rolled-back change
invalidates nothing.
"""

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Sum
from django.utils import timezone

from wemaster.accounts.models import TutorProfile
from wemaster.accounts.services import tutor_directory_changed
from wemaster.core.cache import invalidate_tags
from wemaster.core.errors import NotFound, ValidationFailed
from wemaster.ledger.locks import retry_on_lock_conflict
from wemaster.lessons.errors import StaffOnly
from wemaster.lessons.models import Lesson, LessonStatus, RefundRequest, RefundStatus
from wemaster.reviews.errors import (
    LessonNotCompleted,
    LessonRefunded,
    OnlyAuthorEdits,
    OnlyStudentsReview,
    OnlyTutorReplies,
    ReplyExists,
    ReviewEditWindowClosed,
    ReviewExists,
)
from wemaster.reviews.models import RATING_MAX, RATING_MIN, HiddenReason, Review

TEXT_MAX_LENGTH = Review._meta.get_field("text").max_length
CENT = Decimal("0.01")


def tutor_reviews_tag(tutor_id: int) -> str:
    """The tag of a tutor's cached review pages."""
    return f"tutor:{tutor_id}:reviews"


def mean_rating(*, total: int, count: int) -> Decimal:
    """The mean of `count` ratings summing to `total`, rounded half up to 2 places; 0 for none."""
    if not count:
        return Decimal(0)
    return (Decimal(total) / Decimal(count)).quantize(CENT, rounding=ROUND_HALF_UP)


def edit_deadline(review: Review) -> datetime:
    """Until when the author may edit the review."""
    return review.created_at + timedelta(days=settings.REVIEWS_EDIT_WINDOW_DAYS)


def _checked_rating(rating: int) -> int:
    if not isinstance(rating, int) or isinstance(rating, bool) or not RATING_MIN <= rating <= RATING_MAX:
        raise ValidationFailed(fields={"rating": [f"A whole number from {RATING_MIN} to {RATING_MAX}."]})
    return rating


def _checked_text(text: str, *, field: str = "text", required: bool = False) -> str:
    text = text.strip()
    if len(text) > TEXT_MAX_LENGTH:
        raise ValidationFailed(fields={field: [f"At most {TEXT_MAX_LENGTH} characters."]})
    if required and not text:
        raise ValidationFailed(fields={field: ["Write something."]})
    return text


def _rating_refresh(*, tutor_id: int) -> None:
    """Lock the tutor's profile (step 5 of wemaster.ledger.locks), recompute sum and count of the
    visible reviews and store the mean; the directory is invalidated on commit.
    Precondition: inside the transaction that changed the reviews, no ledger account locked yet."""
    locked = TutorProfile.objects.select_for_update(no_key=True).filter(pk=tutor_id).values_list("pk", flat=True)
    if not list(locked):
        return  # a tutor always has a profile (`tutor_profile_ensure`); nothing to keep without one
    totals = Review.objects.filter(tutor_id=tutor_id, is_hidden=False).aggregate(total=Sum("rating"), count=Count("pk"))
    count = totals["count"]
    rating = mean_rating(total=totals["total"] or 0, count=count)
    TutorProfile.objects.filter(pk=tutor_id).update(rating=rating, review_count=count)
    tutor_directory_changed()


def _lock_review(*, review_id: int, actor) -> Review:
    """Lock a review the actor wrote or received (`actor=None`: staff or the system). Raises NotFound."""
    review = Review.objects.select_for_update(no_key=True).filter(pk=review_id).first()
    if review is None or (actor is not None and actor.id not in (review.student_id, review.tutor_id)):
        raise NotFound("Review not found.")
    return review


@retry_on_lock_conflict
@transaction.atomic
def review_create(*, student, lesson_id: int, rating: int, text: str = "") -> Review:
    """The lesson's student reviews it, once: 1-5 stars and up to 2,000 characters.

    The lesson row is locked first (as a refund approval locks it), and the checks that follow
    are statements of their own, so a refund approved or a review written while this waited for
    the lock is seen; the unique `lesson` of a review backs the one-review rule.
    Raises ValidationFailed, NotFound (not a lesson of the caller), OnlyStudentsReview (its tutor),
    LessonNotCompleted, LessonRefunded, ReviewExists.
    """
    rating, text = _checked_rating(rating), _checked_text(text)
    lesson = Lesson.objects.select_for_update(of=("self",), no_key=True).filter(pk=lesson_id).first()
    if lesson is None or student.id not in (lesson.student_id, lesson.tutor_id):
        raise NotFound("Lesson not found.")
    if student.id != lesson.student_id:
        raise OnlyStudentsReview()
    if lesson.status != LessonStatus.COMPLETED:
        raise LessonNotCompleted(f"Only a completed lesson can be reviewed; this one is {lesson.status}.")
    if RefundRequest.objects.filter(lesson_id=lesson.pk, status=RefundStatus.APPROVED).exists():
        raise LessonRefunded()
    if Review.objects.filter(lesson_id=lesson.pk).exists():
        raise ReviewExists()
    try:
        with transaction.atomic():
            review = Review.objects.create(
                lesson=lesson, student_id=lesson.student_id, tutor_id=lesson.tutor_id, rating=rating, text=text
            )
    except IntegrityError as exc:
        raise ReviewExists() from exc
    _rating_refresh(tutor_id=lesson.tutor_id)
    invalidate_tags(tutor_reviews_tag(lesson.tutor_id))
    return review


@retry_on_lock_conflict
@transaction.atomic
def review_edit(
    *, student, review_id: int, rating: int | None = None, text: str | None = None, at: datetime | None = None
) -> Review:
    """The author changes the stars and/or the text until REVIEWS_EDIT_WINDOW_DAYS after writing
    the review. A hidden review stays hidden.

    Raises ValidationFailed, NotFound, OnlyAuthorEdits (the tutor), ReviewEditWindowClosed.
    """
    at = at or timezone.now()
    rating = None if rating is None else _checked_rating(rating)
    text = None if text is None else _checked_text(text)
    review = _lock_review(review_id=review_id, actor=student)
    if student.id != review.student_id:
        raise OnlyAuthorEdits()
    deadline = edit_deadline(review)
    if at >= deadline:
        raise ReviewEditWindowClosed(f"This review could be edited until {deadline:%Y-%m-%dT%H:%M:%SZ}.")
    rating_changed = rating is not None and rating != review.rating
    review.rating = review.rating if rating is None else rating
    review.text = review.text if text is None else text
    review.edited_at = at
    review.save(update_fields=["rating", "text", "edited_at"])
    if rating_changed and not review.is_hidden:
        _rating_refresh(tutor_id=review.tutor_id)
    invalidate_tags(tutor_reviews_tag(review.tutor_id))
    return review


@retry_on_lock_conflict
@transaction.atomic
def review_reply(*, tutor, review_id: int, text: str, at: datetime | None = None) -> Review:
    """The lesson's tutor answers the review, once (up to 2,000 characters).

    Raises ValidationFailed (blank or too long), NotFound, OnlyTutorReplies (the author), ReplyExists.
    """
    text = _checked_text(text, required=True)
    review = _lock_review(review_id=review_id, actor=tutor)
    if tutor.id != review.tutor_id:
        raise OnlyTutorReplies()
    if review.replied_at is not None:
        raise ReplyExists()
    review.reply = text
    review.replied_at = at or timezone.now()
    review.save(update_fields=["reply", "replied_at"])
    invalidate_tags(tutor_reviews_tag(review.tutor_id))
    return review


@retry_on_lock_conflict
@transaction.atomic
def review_set_hidden(*, review_id: int, staff, hidden: bool, at: datetime | None = None) -> Review:
    """Staff hide a review from the public list and the tutor's rating, or show it again; the
    rating follows in the same transaction. Hiding a hidden review, or showing a visible one,
    changes nothing. A review hidden because its lesson was refunded stays hidden.

    Raises StaffOnly, NotFound, LessonRefunded (showing a refunded lesson's review).
    """
    if not staff.is_staff:
        raise StaffOnly()
    review = _lock_review(review_id=review_id, actor=None)
    if review.is_hidden == hidden:
        return review
    if hidden:
        review.is_hidden, review.hidden_reason = True, HiddenReason.STAFF
        review.hidden_by, review.hidden_at = staff, at or timezone.now()
    elif review.hidden_reason == HiddenReason.REFUND:
        raise LessonRefunded("This lesson was refunded; its review stays hidden.")
    else:
        review.is_hidden, review.hidden_reason, review.hidden_by, review.hidden_at = False, "", None, None
    review.save(update_fields=["is_hidden", "hidden_reason", "hidden_by", "hidden_at"])
    _rating_refresh(tutor_id=review.tutor_id)
    invalidate_tags(tutor_reviews_tag(review.tutor_id))
    return review


def review_hide_for_refund(*, lesson_id: int, at: datetime) -> Review | None:
    """Hide the review of a lesson whose refund is being approved (a review hidden by staff is
    now hidden for the refund, so it cannot be shown again); the rating follows. Returns the
    review, or None when the lesson has none.

    Precondition: called by `refund_request_approve` inside its transaction, with the lesson, the
    request and the earning locked and no ledger account locked yet (wemaster.ledger.locks).
    """
    review = Review.objects.select_for_update(no_key=True).filter(lesson_id=lesson_id).first()
    if review is None or review.hidden_reason == HiddenReason.REFUND:
        return review
    was_visible = not review.is_hidden
    review.is_hidden, review.hidden_reason, review.hidden_at = True, HiddenReason.REFUND, at
    review.save(update_fields=["is_hidden", "hidden_reason", "hidden_at"])
    if was_visible:
        _rating_refresh(tutor_id=review.tutor_id)
    invalidate_tags(tutor_reviews_tag(review.tutor_id))
    return review
