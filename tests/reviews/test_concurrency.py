"""Concurrent review submissions with real threads on PostgreSQL: one review per lesson, and a
rating that counts every review of the tutor (no lost update of `review_count`)."""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connections
from rest_framework.test import APIClient

from tests.accounts.factories import token_for
from tests.lessons.factories import tutor_teaching
from tests.reviews.factories import reviewable_lesson
from wemaster.accounts.models import TutorProfile
from wemaster.reviews.models import Review

THREADS = 8


def post_review(token: str, lesson_id: int, rating: int) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    try:
        return client.post(f"/api/v1/lessons/{lesson_id}/review", {"rating": rating}, format="json").status_code
    finally:
        connections.close_all()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_make_one_review_and_an_exact_rating(settings):
    settings.RATE_LIMITS_ENABLED = False
    tutor = tutor_teaching()
    contested = reviewable_lesson(tutor=tutor)
    others = [reviewable_lesson(tutor=tutor) for _ in range(THREADS - 1)]
    contested_token = token_for(contested.student)
    # THREADS submissions of one lesson's review, and at the same time one review of each other lesson
    calls = [(contested_token, contested.pk, 5)] * THREADS
    calls += [(token_for(lesson.student), lesson.pk, 1 + index % 5) for index, lesson in enumerate(others)]

    with ThreadPoolExecutor(THREADS) as pool:
        statuses = list(pool.map(lambda call: post_review(*call), calls))

    assert Counter(statuses[:THREADS]) == {201: 1, 409: THREADS - 1}
    assert Counter(statuses[THREADS:]) == {201: THREADS - 1}
    assert Review.objects.filter(lesson=contested).count() == 1
    ratings = list(Review.objects.filter(tutor=tutor).values_list("rating", flat=True))
    profile = TutorProfile.objects.get(pk=tutor.pk)
    assert profile.review_count == len(ratings) == THREADS
    assert profile.rating == (Decimal(sum(ratings)) / len(ratings)).quantize(Decimal("0.01"))
