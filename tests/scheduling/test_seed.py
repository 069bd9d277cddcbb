from datetime import timedelta

import pytest
from django.utils import timezone

from tests.lessons.test_seed import no_progress
from wemaster.accounts.models import User
from wemaster.accounts.seed import DEMO_TUTORS, demo_email
from wemaster.accounts.seed import seed_demo as seed_accounts
from wemaster.scheduling import selectors
from wemaster.scheduling.models import AvailabilityException, AvailabilityWindow
from wemaster.scheduling.seed import seed_demo as seed_availability


@pytest.mark.django_db
def test_demo_tutors_get_a_week_a_day_off_and_an_extra_window_once():
    """(The lessons seed books inside these windows: tests/lessons/test_seed*.py.)"""
    for _ in range(2):
        seed_accounts(scale=1, progress=no_progress)
        seed_availability(scale=1, progress=no_progress)
    tutors = list(User.objects.filter(email__in=[demo_email("tutor", i) for i in range(1, len(DEMO_TUTORS) + 1)]))
    assert len(tutors) == len(DEMO_TUTORS)
    for tutor in tutors:
        assert AvailabilityWindow.objects.filter(tutor=tutor).count() == 7
        assert sorted(AvailabilityException.objects.filter(tutor=tutor).values_list("kind", flat=True)) == [
            "available",
            "unavailable",
        ]
        now = timezone.now()
        slots = selectors.tutor_slots(
            tutor_id=tutor.id, start=now, end=now + timedelta(days=7), duration_minutes=60, now=now
        )
        assert slots.starts
