"""Reviews keep the one lock order (wemaster.ledger.locks): refund approvals that hide reviews,
new reviews and bookings of one student/tutor pair at once, with no retry allowed, all succeed
(a deadlock would surface as 409 lock_conflict), and the rating counts exactly the visible reviews."""

from decimal import Decimal

import pytest

from tests.accounts.factories import StaffFactory, StudentFactory, token_for
from tests.ledger.factories import funded_wallet
from tests.lessons.factories import SUBJECT, completed_lesson, future, tutor_teaching
from tests.lessons.test_deadlocks import Call, counted, run_at_once
from wemaster.accounts.models import TutorProfile
from wemaster.ledger.metrics import lock_conflict_retries
from wemaster.ledger.reconcile import find_discrepancies
from wemaster.lessons import services as lessons
from wemaster.reviews import services
from wemaster.reviews.models import HiddenReason, Review

EACH = 4


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_refunds_reviews_replies_and_bookings_of_one_pair_at_once(settings):
    settings.RATE_LIMITS_ENABLED = False
    settings.LOCK_CONFLICT_RETRY_ATTEMPTS = 1
    student, tutor, staff = StudentFactory(), tutor_teaching(), StaffFactory()
    funded_wallet(student, 100_000)
    tokens = {user.id: token_for(user) for user in (student, tutor, staff)}
    calls = []
    for _ in range(EACH):
        lesson = completed_lesson(student=student, tutor=tutor)
        review = services.review_create(student=student, lesson_id=lesson.pk, rating=1)
        refund = lessons.refund_request_create(student=student, lesson_id=lesson.pk, reason="No show")
        calls.append(Call("approve", staff.id, f"/api/v1/wallet/refund-requests/{refund.pk}/approve"))
        calls.append(Call("reply", tutor.id, f"/api/v1/reviews/{review.pk}/reply", {"text": "Sorry"}))
    for index in range(EACH):
        lesson = completed_lesson(student=student, tutor=tutor)
        calls.append(Call("review", student.id, f"/api/v1/lessons/{lesson.pk}/review", {"rating": 2 + index % 4}))
        slot = {"tutor": tutor.id, "subject": SUBJECT, "starts_at": future(100 + 2 * index).isoformat()}
        calls.append(Call("book", student.id, "/api/v1/lessons", {**slot, "duration_minutes": 60}))
    retried = counted(lock_conflict_retries)

    outcomes = run_at_once(calls, tokens)

    assert outcomes == {
        ("approve", 200, ""): EACH,
        ("reply", 200, ""): EACH,
        ("review", 201, ""): EACH,
        ("book", 201, ""): EACH,
    }
    assert counted(lock_conflict_retries) == retried
    assert Review.objects.filter(is_hidden=True, hidden_reason=HiddenReason.REFUND).count() == EACH
    visible = list(Review.objects.filter(is_hidden=False).values_list("rating", flat=True))
    profile = TutorProfile.objects.get(pk=tutor.pk)
    assert (profile.review_count, profile.rating) == (EACH, services.mean_rating(total=sum(visible), count=EACH))
    assert profile.rating == Decimal("3.50")
    assert find_discrepancies() == []
