"""Demo reviews (seed_demo) and the review admin: staff hide and show through the service."""

from decimal import Decimal

import pytest
from django.contrib.admin.sites import site
from django.contrib.messages.storage.fallback import FallbackStorage
from django.db.models import Avg, Count
from django.test import RequestFactory

from tests.accounts.factories import StaffFactory, always_available
from tests.lessons.factories import SUBJECT, tutor_teaching
from tests.reviews.factories import reviewable_lesson
from wemaster.accounts.models import TutorProfile, User
from wemaster.accounts.seed import demo_email
from wemaster.accounts.seed import seed_demo as seed_accounts
from wemaster.accounts.services import subjects_resolve
from wemaster.lessons import services as lesson_services
from wemaster.reviews import services
from wemaster.reviews.models import HiddenReason, Review
from wemaster.reviews.seed import seed_demo as seed_reviews


def no_progress(iterable, **kwargs):
    return iterable


@pytest.mark.django_db
def test_demo_reviews_are_seeded_once_with_ratings_that_match():
    seed_accounts(scale=1, progress=no_progress)
    tutors = list(User.objects.filter(email__in=[demo_email("tutor", 1), demo_email("tutor", 2)]))
    for tutor in tutors:
        tutor.tutor_profile.subjects.add(*subjects_resolve([SUBJECT]))
        always_available(tutor)  # demo tutors' hours come from the scheduling seed, not run here
    lessons = [reviewable_lesson(tutor=tutor) for tutor in tutors for _ in range(6)]
    refund = lesson_services.refund_request_create(student=lessons[0].student, lesson_id=lessons[0].pk, reason="Late")
    lesson_services.refund_request_approve(refund_request_id=refund.pk, staff=StaffFactory())
    seed_reviews(scale=1, progress=no_progress)
    count = Review.objects.count()
    seed_reviews(scale=1, progress=no_progress)
    assert Review.objects.count() == count >= 4
    assert Review.objects.filter(is_hidden=True, hidden_reason=HiddenReason.STAFF).count() == 1
    assert not Review.objects.filter(lesson=lessons[0]).exists()
    visible = Review.objects.filter(is_hidden=False).values("tutor").annotate(mean=Avg("rating"), n=Count("id"))
    assert visible
    for row in visible:
        profile = TutorProfile.objects.get(pk=row["tutor"])
        assert profile.review_count == row["n"]
        assert profile.rating == Decimal(row["mean"]).quantize(Decimal("0.01"))


def admin_action(action: str, reviews, staff):
    request = RequestFactory().post("/admin/reviews/review/")
    request.user = staff
    request.session = {}
    request._messages = FallbackStorage(request)
    model_admin = site._registry[Review]
    model_admin.get_actions(request)[action][0](model_admin, request, reviews)


@pytest.mark.django_db
def test_admin_lists_reviews_read_only_and_its_actions_hide_and_show_through_the_service(client):
    tutor = tutor_teaching()
    lesson, other = reviewable_lesson(tutor=tutor), reviewable_lesson(tutor=tutor)
    review = services.review_create(student=lesson.student, lesson_id=lesson.pk, rating=1, text="Spam spam")
    services.review_create(student=other.student, lesson_id=other.pk, rating=5)
    staff = StaffFactory(is_superuser=True)
    client.force_login(staff)
    page = client.get("/admin/reviews/review/")
    assert page.status_code == 200 and b"Spam spam" not in page.content  # text only on the review's page
    detail = client.get(f"/admin/reviews/review/{review.pk}/change/")
    assert detail.status_code == 200 and b"Spam spam" in detail.content
    assert b'name="rating"' not in detail.content  # no editable field bypasses the service
    model_admin = site._registry[Review]
    assert not model_admin.has_add_permission(None) and not model_admin.has_delete_permission(None)

    admin_action("hide", Review.objects.filter(pk=review.pk), staff)
    assert TutorProfile.objects.get(pk=tutor.pk).rating == Decimal("5.00")
    review.refresh_from_db()
    assert (review.is_hidden, review.hidden_by_id) == (True, staff.id)
    admin_action("show", Review.objects.filter(pk=review.pk), staff)
    assert (TutorProfile.objects.get(pk=tutor.pk).rating, TutorProfile.objects.get(pk=tutor.pk).review_count) == (
        Decimal("3.00"),
        2,
    )
