from datetime import timedelta

from django.utils import timezone

from tests.accounts.factories import TutorFactory
from wemaster.accounts.services import subjects_resolve
from wemaster.lessons import services

SUBJECT = "mathematics"


def tutor_teaching(*subjects: str, hourly_rate: int = 4000):
    """A tutor with an hourly rate (cents) who teaches `subjects` (default: mathematics)."""
    tutor = TutorFactory(profile__hourly_rate=hourly_rate)
    tutor.tutor_profile.subjects.set(subjects_resolve(list(subjects or [SUBJECT])))
    return tutor


def future(hours: float = 48) -> timezone.datetime:
    return (timezone.now() + timedelta(hours=hours)).replace(microsecond=0)


def past(hours: float) -> timezone.datetime:
    return (timezone.now() - timedelta(hours=hours)).replace(microsecond=0)


def book(*, student, tutor, starts_at=None, duration_minutes: int = 60, subject: str = SUBJECT, now=None):
    return services.lesson_book(
        student=student,
        tutor_id=tutor.id,
        subject=subject,
        starts_at=starts_at or future(),
        duration_minutes=duration_minutes,
        now=now,
    )


def ended_lesson(*, student, tutor, starts_at=None, duration_minutes: int = 60, subject: str = SUBJECT):
    """A booked lesson that has taken place (booked a day before its start, as the seed books
    past lessons); by default it ended a minute ago."""
    starts_at = starts_at or past(hours=duration_minutes / 60) - timedelta(minutes=1)
    return book(
        student=student,
        tutor=tutor,
        starts_at=starts_at,
        duration_minutes=duration_minutes,
        subject=subject,
        now=starts_at - timedelta(days=1),
    )


def completed_lesson(*, student, tutor, starts_at=None, duration_minutes: int = 60, subject: str = SUBJECT, at=None):
    """A lesson that took place and that its student confirmed at `at` (default: now)."""
    lesson = ended_lesson(
        student=student, tutor=tutor, starts_at=starts_at, duration_minutes=duration_minutes, subject=subject
    )
    return services.lesson_complete(lesson_id=lesson.pk, actor=student, at=at or timezone.now())
