"""GET /tutors/{id}/reviews: public, newest first, hidden reviews left out, keyset pages whose
query count does not grow with the rows, the first page cached until a review changes."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.accounts.factories import StaffFactory, StudentFactory
from tests.lessons.factories import tutor_teaching
from tests.reviews.factories import reviewable_lesson
from wemaster.reviews import services

pytestmark = pytest.mark.django_db


def reviews_of(tutor, count: int, *, first_rating: int = 1) -> list:
    made = []
    for index in range(count):
        lesson = reviewable_lesson(tutor=tutor)
        rating = (first_rating + index - 1) % 5 + 1
        made.append(
            services.review_create(student=lesson.student, lesson_id=lesson.pk, rating=rating, text=f"#{index}")
        )
    return made


def test_newest_first_with_the_public_fields_and_keyset_links(api_client):
    tutor = tutor_teaching()
    made = reviews_of(tutor, 5)
    services.review_reply(tutor=tutor, review_id=made[0].pk, text="Thanks")
    url = f"/api/v1/tutors/{tutor.id}/reviews"
    first = api_client.get(url, {"page_size": 2}).json()
    assert [row["id"] for row in first["results"]] == [made[4].pk, made[3].pk]
    assert first["previous"] is None
    assert set(first["results"][0]) == {
        "id",
        "rating",
        "text",
        "student_name",
        "subject",
        "reply",
        "replied_at",
        "created_at",
        "edited_at",
    }
    assert first["results"][0]["student_name"] == made[4].student.display_name
    second = api_client.get(first["next"]).json()
    third = api_client.get(second["next"]).json()
    assert [row["id"] for row in second["results"] + third["results"]] == [made[2].pk, made[1].pk, made[0].pk]
    assert (third["next"], third["results"][0]["reply"]) == (None, "Thanks")
    assert [row["id"] for row in api_client.get(third["previous"]).json()["results"]] == [made[2].pk, made[1].pk]


def test_not_a_tutor_is_404_and_a_forged_cursor_400(api_client):
    assert api_client.get(f"/api/v1/tutors/{StudentFactory().id}/reviews").status_code == 404
    assert api_client.get("/api/v1/tutors/999999/reviews").status_code == 404
    tutor = tutor_teaching()
    response = api_client.get(f"/api/v1/tutors/{tutor.id}/reviews", {"cursor": "bm90IGEgY3Vyc29y"})
    assert (response.status_code, response.json()["code"]) == (400, "invalid_cursor")


def test_query_count_is_constant_in_the_number_of_reviews(api_client, django_capture_on_commit_callbacks):
    tutor = tutor_teaching()
    url = f"/api/v1/tutors/{tutor.id}/reviews"

    def cursor_page_queries(expected_rows: int) -> int:
        # a cursor page is never cached: the tutor check (which the ORM cache may answer) and one
        # joined page query, however many rows
        first = api_client.get(url, {"page_size": 1}).json()
        with CaptureQueriesContext(connection) as queries:
            rows = api_client.get(first["next"].replace("page_size=1", "page_size=50")).json()["results"]
        assert len(rows) == expected_rows
        return len(queries)

    reviews_of(tutor, 2)
    few = cursor_page_queries(1)
    with django_capture_on_commit_callbacks(execute=True):  # the cached first page is invalidated
        reviews_of(tutor, 10)
    many = cursor_page_queries(11)
    assert few == many
    assert 1 <= many <= 2


def test_first_page_is_cached_and_each_change_invalidates_it(
    api_client, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    tutor = tutor_teaching()
    (review,) = reviews_of(tutor, 1, first_rating=3)
    url = f"/api/v1/tutors/{tutor.id}/reviews"
    assert api_client.get(url).json()["results"][0]["rating"] == 3
    with django_assert_max_num_queries(1):  # at most the tutor check: the page itself is a cache hit
        assert api_client.get(url).json()["results"][0]["rating"] == 3

    changes = [
        lambda: services.review_edit(student=review.student, review_id=review.pk, rating=4),
        lambda: services.review_reply(tutor=tutor, review_id=review.pk, text="Thanks"),
        lambda: services.review_set_hidden(review_id=review.pk, staff=StaffFactory(), hidden=True),
    ]
    seen = []
    for change in changes:
        with django_capture_on_commit_callbacks(execute=True):
            change()
        rows = api_client.get(url).json()["results"]
        seen.append((rows[0]["rating"], rows[0]["reply"]) if rows else None)
    assert seen == [(4, ""), (4, "Thanks"), None]
    lesson = reviewable_lesson(tutor=tutor)
    with django_capture_on_commit_callbacks(execute=True):
        services.review_create(student=lesson.student, lesson_id=lesson.pk, rating=5)
    assert [row["rating"] for row in api_client.get(url).json()["results"]] == [5]
