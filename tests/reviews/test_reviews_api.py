"""Reviews through the API: who may write, edit and reply, once each; the rating the directory
and the tutor's page show follows every change at once."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.accounts.factories import StaffFactory, StudentFactory, TutorFactory
from tests.lessons.factories import book, tutor_teaching
from tests.reviews.factories import reviewable_lesson
from wemaster.accounts.models import TutorProfile
from wemaster.lessons import services as lessons
from wemaster.lessons.errors import StaffOnly
from wemaster.reviews import services
from wemaster.reviews.errors import LessonRefunded
from wemaster.reviews.models import HiddenReason, Review

pytestmark = pytest.mark.django_db


def review_url(lesson) -> str:
    return f"/api/v1/lessons/{lesson.pk}/review"


def profile_of(tutor) -> TutorProfile:
    return TutorProfile.objects.get(pk=tutor.pk)


def test_student_reviews_a_completed_lesson_once_and_the_tutor_shows_the_rating_at_once(
    client_for, api_client, django_capture_on_commit_callbacks
):
    tutor = tutor_teaching()
    first, second = reviewable_lesson(tutor=tutor), reviewable_lesson(tutor=tutor)
    directory = api_client.get("/api/v1/tutors").json()["results"]  # cached from here on
    assert [(row["id"], row["rating"], row["review_count"]) for row in directory] == [(tutor.id, None, 0)]

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(first.student).post(review_url(first), {"rating": 5, "text": " Clear and patient. "})
        client_for(second.student).post(review_url(second), {"rating": 4})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["lesson"], body["tutor"], body["rating"], body["text"], body["is_hidden"]) == (
        first.pk,
        tutor.id,
        5,
        "Clear and patient.",
        False,
    )
    assert body["editable_until"].startswith((timezone.now() + timedelta(days=7)).strftime("%Y-%m-%d"))
    row = api_client.get("/api/v1/tutors").json()["results"][0]
    assert (row["rating"], row["review_count"]) == ("4.50", 2)
    detail = api_client.get(f"/api/v1/tutors/{tutor.id}").json()
    assert (detail["rating"], detail["review_count"]) == ("4.50", 2)

    again = client_for(first.student).post(review_url(first), {"rating": 1})
    assert (again.status_code, again.json()["code"]) == (409, "review_exists")
    assert profile_of(tutor).review_count == 2


def test_only_the_lessons_student_reviews_a_completed_unrefunded_lesson(client_for):
    lesson = reviewable_lesson()
    tutors_try = client_for(lesson.tutor).post(review_url(lesson), {"rating": 5})
    assert (tutors_try.status_code, tutors_try.json()["code"]) == (403, "permission_denied")
    strangers_try = client_for(StudentFactory()).post(review_url(lesson), {"rating": 5})
    assert (strangers_try.status_code, strangers_try.json()["code"]) == (404, "not_found")

    booked = book(student=lesson.student, tutor=lesson.tutor)
    response = client_for(lesson.student).post(review_url(booked), {"rating": 5})
    assert (response.status_code, response.json()["code"]) == (409, "lesson_not_completed")

    refund = lessons.refund_request_create(student=lesson.student, lesson_id=lesson.pk, reason="No show")
    lessons.refund_request_approve(refund_request_id=refund.pk, staff=StaffFactory())
    response = client_for(lesson.student).post(review_url(lesson), {"rating": 5})
    assert (response.status_code, response.json()["code"]) == (409, "lesson_refunded")
    assert not Review.objects.exists()


@pytest.mark.parametrize(
    "body,field,code",
    [
        ({"rating": 0}, "rating", "min_value"),
        ({"rating": 6}, "rating", "max_value"),
        ({"rating": "five"}, "rating", "invalid"),
        ({"text": "No stars"}, "rating", "required"),
        ({"rating": 3, "text": "x" * 2001}, "text", "max_length"),
        ({"rating": 3, "stars": 3}, "stars", "unknown_field"),
    ],
)
def test_bad_review_bodies_are_400_naming_the_field(client_for, body, field, code):
    lesson = reviewable_lesson()
    response = client_for(lesson.student).post(review_url(lesson), body, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["fields"]
    assert not Review.objects.exists()


def test_author_edits_within_the_window_and_the_rating_follows(client_for, django_capture_on_commit_callbacks):
    lesson = reviewable_lesson()
    review = services.review_create(student=lesson.student, lesson_id=lesson.pk, rating=2, text="Meh")
    client = client_for(lesson.student)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.patch(f"/api/v1/reviews/{review.pk}", {"rating": 4}, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["rating"], response.json()["text"], response.json()["edited_at"] is not None) == (
        4,
        "Meh",
        True,
    )
    assert (profile_of(lesson.tutor).rating, profile_of(lesson.tutor).review_count) == (Decimal("4.00"), 1)

    empty = client.patch(f"/api/v1/reviews/{review.pk}", {}, format="json")
    assert empty.status_code == 400
    tutors_try = client_for(lesson.tutor).patch(f"/api/v1/reviews/{review.pk}", {"rating": 5}, format="json")
    assert tutors_try.status_code == 403
    strangers_try = client_for(StudentFactory()).patch(f"/api/v1/reviews/{review.pk}", {"rating": 5}, format="json")
    assert strangers_try.status_code == 404

    Review.objects.filter(pk=review.pk).update(created_at=timezone.now() - timedelta(days=7, seconds=1))
    late = client.patch(f"/api/v1/reviews/{review.pk}", {"text": "Changed my mind"}, format="json")
    assert (late.status_code, late.json()["code"]) == (409, "review_edit_window_closed")
    review.refresh_from_db()
    assert (review.rating, review.text) == (4, "Meh")


def test_the_lessons_tutor_replies_once(client_for):
    lesson = reviewable_lesson()
    review = services.review_create(student=lesson.student, lesson_id=lesson.pk, rating=5)
    url = f"/api/v1/reviews/{review.pk}/reply"
    assert client_for(lesson.student).post(url, {"text": "Me too"}).status_code == 403
    assert client_for(TutorFactory()).post(url, {"text": "Hijack"}).status_code == 404
    blank = client_for(lesson.tutor).post(url, {"text": ""})
    assert blank.status_code == 400
    response = client_for(lesson.tutor).post(url, {"text": " Thank you! "})
    assert response.status_code == 200, response.json()
    assert (response.json()["reply"], response.json()["replied_at"] is not None) == ("Thank you!", True)
    again = client_for(lesson.tutor).post(url, {"text": "Again"})
    assert (again.status_code, again.json()["code"]) == (409, "reply_exists")


def test_a_refund_approved_after_the_review_hides_it_and_the_rating_follows(
    api_client, django_capture_on_commit_callbacks
):
    tutor = tutor_teaching()
    kept, refunded = reviewable_lesson(tutor=tutor), reviewable_lesson(tutor=tutor)
    services.review_create(student=kept.student, lesson_id=kept.pk, rating=2)
    review = services.review_create(student=refunded.student, lesson_id=refunded.pk, rating=5)
    assert profile_of(tutor).rating == Decimal("3.50")
    assert len(api_client.get(f"/api/v1/tutors/{tutor.id}/reviews").json()["results"]) == 2  # cached now

    refund = lessons.refund_request_create(student=refunded.student, lesson_id=refunded.pk, reason="No show")
    staff = StaffFactory()
    with django_capture_on_commit_callbacks(execute=True):
        lessons.refund_request_approve(refund_request_id=refund.pk, staff=staff)
    review.refresh_from_db()
    assert (review.is_hidden, review.hidden_reason) == (True, HiddenReason.REFUND)
    assert (profile_of(tutor).rating, profile_of(tutor).review_count) == (Decimal("2.00"), 1)
    rows = api_client.get(f"/api/v1/tutors/{tutor.id}/reviews").json()["results"]
    assert [row["rating"] for row in rows] == [2]
    with pytest.raises(LessonRefunded):
        services.review_set_hidden(review_id=review.pk, staff=staff, hidden=False)


def test_staff_hide_and_show_a_review_and_the_rating_follows(api_client, django_capture_on_commit_callbacks):
    tutor = tutor_teaching()
    low, high = reviewable_lesson(tutor=tutor), reviewable_lesson(tutor=tutor)
    services.review_create(student=low.student, lesson_id=low.pk, rating=1)
    spam = services.review_create(student=high.student, lesson_id=high.pk, rating=4)
    staff = StaffFactory()
    with pytest.raises(StaffOnly):
        services.review_set_hidden(review_id=spam.pk, staff=low.student, hidden=True)
    with django_capture_on_commit_callbacks(execute=True):
        services.review_set_hidden(review_id=spam.pk, staff=staff, hidden=True)
    assert (profile_of(tutor).rating, profile_of(tutor).review_count) == (Decimal("1.00"), 1)
    assert [row["rating"] for row in api_client.get(f"/api/v1/tutors/{tutor.id}/reviews").json()["results"]] == [1]
    with django_capture_on_commit_callbacks(execute=True):
        services.review_set_hidden(review_id=spam.pk, staff=staff, hidden=False)
    assert (profile_of(tutor).rating, profile_of(tutor).review_count) == (Decimal("2.50"), 2)
    assert len(api_client.get(f"/api/v1/tutors/{tutor.id}/reviews").json()["results"]) == 2


def test_rating_is_rounded_half_up_to_two_places():
    assert services.mean_rating(total=0, count=0) == Decimal(0)
    assert services.mean_rating(total=14, count=3) == Decimal("4.67")
    assert services.mean_rating(total=9, count=8) == Decimal("1.13")  # 1.125 -> 1.13, not banker's 1.12
    assert services.mean_rating(total=5, count=1) == Decimal("5.00")
