"""The tutor's rating equals the mean of the visible reviews after any sequence of creates, edits,
hides and shows (Hypothesis), and review_count their number."""

import hypothesis
import pytest
from django.db import transaction
from hypothesis import strategies as st

from tests.accounts.factories import StaffFactory
from tests.lessons.factories import tutor_teaching
from tests.reviews.factories import reviewable_lesson
from wemaster.accounts.models import TutorProfile
from wemaster.reviews import services

LESSONS = 5
stars = st.integers(min_value=1, max_value=5)
lesson_index = st.integers(min_value=0, max_value=LESSONS - 1)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("create"), lesson_index, stars),
        st.tuples(st.just("edit"), lesson_index, stars),
        st.tuples(st.just("hide"), lesson_index, st.just(0)),
        st.tuples(st.just("show"), lesson_index, st.just(0)),
    ),
    max_size=12,
)


class UndoExample(Exception):
    pass


def expected_rating(ratings: list[int]) -> str:
    """The mean rounded half up to 2 places, in integer arithmetic (not the service's Decimal)."""
    if not ratings:
        return "0.00"
    hundredths = (200 * sum(ratings) + len(ratings)) // (2 * len(ratings))
    return f"{hundredths // 100}.{hundredths % 100:02d}"


@pytest.mark.django_db
def test_rating_is_the_mean_of_visible_reviews_after_random_changes():
    tutor, staff = tutor_teaching(), StaffFactory()
    lessons = [reviewable_lesson(tutor=tutor) for _ in range(LESSONS)]

    def apply_and_check(ops):
        model: dict[int, list] = {}  # lesson index -> [rating, hidden]
        reviews: dict[int, int] = {}  # lesson index -> review id
        for op, index, rating in ops:
            lesson = lessons[index]
            if op == "create" and index not in model:
                reviews[index] = services.review_create(student=lesson.student, lesson_id=lesson.pk, rating=rating).pk
                model[index] = [rating, False]
            elif op == "edit" and index in model:
                services.review_edit(student=lesson.student, review_id=reviews[index], rating=rating)
                model[index][0] = rating
            elif op in ("hide", "show") and index in model:
                services.review_set_hidden(review_id=reviews[index], staff=staff, hidden=op == "hide")
                model[index][1] = op == "hide"
            visible = [stars for stars, hidden in model.values() if not hidden]
            profile = TutorProfile.objects.get(pk=tutor.pk)
            assert (f"{profile.rating:.2f}", profile.review_count) == (expected_rating(visible), len(visible))

    @hypothesis.settings(max_examples=40, deadline=None, print_blob=True)
    @hypothesis.given(operations)
    def check(ops):
        try:
            with transaction.atomic():  # undone after each example (the ORM cache follows atomic blocks)
                apply_and_check(ops)
                raise UndoExample()
        except UndoExample:
            pass

    check()
