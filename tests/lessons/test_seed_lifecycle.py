"""The demo lessons obey the clock rules of the lesson lifecycle and include one dispute."""

import pytest
from django.db.models import F

from wemaster.accounts.seed import seed_demo as seed_accounts
from wemaster.ledger.reconcile import find_discrepancies
from wemaster.lessons.models import Lesson, LessonStatus
from wemaster.lessons.seed import seed_demo as seed_lessons
from wemaster.scheduling.seed import seed_demo as seed_availability


def no_progress(iterable, **kwargs):
    return iterable


@pytest.mark.django_db
def test_demo_lessons_follow_the_clock_rules_and_include_one_dispute():
    for _ in range(2):
        seed_accounts(scale=1, progress=no_progress)
        seed_availability(scale=1, progress=no_progress)
        seed_lessons(scale=1, progress=no_progress)
    statuses = set(Lesson.objects.values_list("status", flat=True))
    assert statuses == {LessonStatus.BOOKED, LessonStatus.COMPLETED, LessonStatus.CANCELLED, LessonStatus.DISPUTED}
    (dispute,) = Lesson.objects.filter(status=LessonStatus.DISPUTED)
    assert dispute.problem_reason and dispute.reported_at >= dispute.ends_at
    completed = Lesson.objects.filter(status=LessonStatus.COMPLETED)
    assert not completed.filter(completed_at__lt=F("ends_at")).exists()
    assert not Lesson.objects.filter(status=LessonStatus.CANCELLED, cancelled_at__gte=F("starts_at")).exists()
    assert find_discrepancies() == []
