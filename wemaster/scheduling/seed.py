"""Demo availability: each demo tutor teaches weekdays 08:00-20:00, Saturday mornings and Sunday
afternoons in their own zone, takes a whole day off ten days from now and adds an extra window on
the morning of a Sunday one to two weeks ahead, so GET /tutors/{id}/slots shows all three kinds. Runs
before the lessons seed, which books inside it. Idempotent: a tutor who has availability keeps it."""

from datetime import timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from wemaster.accounts.models import User
from wemaster.accounts.seed import DEMO_DOMAIN, DEMO_TUTORS, demo_email
from wemaster.scheduling.models import AvailabilityWindow, ExceptionKind
from wemaster.scheduling.services import availability_replace
from wemaster.scheduling.slots import DatedException, Window

HOUR = 60
WEEK = [
    *(Window(weekday, 8 * HOUR, 20 * HOUR) for weekday in range(5)),
    Window(5, 9 * HOUR, 13 * HOUR),
    Window(6, 14 * HOUR, 18 * HOUR),
]


def seed_demo(*, scale: int, progress) -> list[tuple[str, str, str]]:
    emails = [demo_email("tutor", index) for index in range(1, len(DEMO_TUTORS) + 1)]
    emails.append(f"new-tutor@{DEMO_DOMAIN}")
    with_availability = set(AvailabilityWindow.objects.values_list("tutor_id", flat=True).distinct())
    for tutor in User.objects.filter(email__in=emails).select_related("tutor_profile"):
        if tutor.id in with_availability:
            continue
        today = timezone.now().astimezone(ZoneInfo(tutor.tutor_profile.timezone)).date()
        sunday_after_next = today + timedelta(days=13 - today.weekday())
        exceptions = [
            DatedException(today + timedelta(days=10), ExceptionKind.UNAVAILABLE),
            DatedException(sunday_after_next, ExceptionKind.AVAILABLE, 9 * HOUR, 12 * HOUR),
        ]
        availability_replace(tutor=tutor, windows=WEEK, exceptions=exceptions)
    return []
