"""Demo lessons over the last months, each inside its tutor's availability (the scheduling seed
runs first), so the tutors' overview and analytics show real numbers; a few upcoming bookings, a
disputed lesson, a refund approved by the demo staff member and a pending refund request for staff
to decide, and a paid withdrawal. Past lessons are booked with `now=` before their start and
finished by the rules of the clock: cancelled before the start, confirmed by the student after the
end, or completed by the tutor once the problem-report window has closed. Idempotent."""

import random
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils import timezone

from earnings import services as earnings
from earnings.models import PayoutMethod
from wemaster.accounts.models import User
from wemaster.accounts.seed import DEMO_DOMAIN, DEMO_TUTORS, demo_email
from wemaster.ledger import services as ledger
from wemaster.ledger.models import AccountKind, TransferKind
from wemaster.lessons import services
from wemaster.lessons.models import Lesson, LessonStatus, RefundRequest
from wemaster.scheduling.selectors import slots_compute

LESSONS_PER_TUTOR = 40
HISTORY_DAYS = 120
SEED_FUNDING = 300_000


def _fund(student) -> None:
    """Give an empty demo wallet money from the outside (not through the wallet app's top-ups)."""
    wallet = ledger.student_wallet_account(student=student, currency=settings.CURRENCY)
    if wallet.balance:
        return
    external = ledger.platform_account(kind=AccountKind.EXTERNAL_FUNDING, currency=settings.CURRENCY)
    ledger.transfer(
        kind=TransferKind.TOP_UP,
        reference=f"seed-funding:{student.id}",
        currency=settings.CURRENCY,
        legs=[ledger.Leg(external.id, -SEED_FUNDING), ledger.Leg(wallet.id, SEED_FUNDING)],
        description="Demo funding",
    )


def _free_starts(*, tutor, since: datetime, until: datetime, duration: int) -> list[datetime]:
    """Start times in [since, until) the tutor's availability (wemaster.scheduling.seed) and
    lessons leave free, past ones included: the seed books the past with `now=`."""
    computed = slots_compute(tutor_id=tutor.id, start=since, end=until, duration_minutes=duration)
    return [datetime.fromtimestamp(epoch, tz=UTC) for epoch in (computed or {"starts": []})["starts"]]


def _tutor_history(*, tutor, students, rng, count: int, progress) -> None:
    now = timezone.now()
    subjects = list(tutor.tutor_profile.subjects.values_list("name", flat=True))
    days = sorted(rng.sample(range(2, HISTORY_DAYS), min(count, HISTORY_DAYS - 2)), reverse=True)
    for index, days_ago in enumerate(progress(days, desc=f"lessons of {tutor.email}", total=len(days))):
        duration = rng.choice([45, 60, 60, 90])
        midnight = (now - timedelta(days=days_ago)).replace(hour=0, minute=0, second=0, microsecond=0)
        free = _free_starts(tutor=tutor, since=midnight, until=midnight + timedelta(days=1), duration=duration)
        if not free:
            continue
        starts_at = rng.choice(free)
        lesson = services.lesson_book(
            student=students[index % len(students)],
            tutor_id=tutor.id,
            subject=rng.choice(subjects),
            starts_at=starts_at,
            duration_minutes=duration,
            now=starts_at - timedelta(days=3),
        )
        draw = rng.random()
        report_until = services.problem_report_deadline(lesson=lesson)
        if draw < 0.1:
            services.lesson_cancel(lesson_id=lesson.pk, actor=lesson.student, at=starts_at - timedelta(days=2))
        elif draw < 0.55 and report_until <= now:
            services.lesson_complete(lesson_id=lesson.pk, actor=tutor, at=report_until)
        else:
            confirmed_at = lesson.ends_at + timedelta(minutes=rng.randint(5, 120))
            services.lesson_complete(lesson_id=lesson.pk, actor=lesson.student, at=min(confirmed_at, now))
    for days_ahead in (2, 5):
        midnight = (now + timedelta(days=days_ahead)).replace(hour=0, minute=0, second=0, microsecond=0)
        free = _free_starts(tutor=tutor, since=midnight, until=midnight + timedelta(days=1), duration=60)
        if free:
            services.lesson_book(
                student=students[days_ahead % len(students)],
                tutor_id=tutor.id,
                subject=subjects[0],
                starts_at=free[len(free) // 2],
                duration_minutes=60,
            )


def _disputed_lesson(*, tutor, student) -> None:
    """A lesson that has just ended and whose student reported a problem: staff find it under
    status `disputed` and resolve it from the lesson admin (or POST /lessons/{id}/resolve)."""
    now = timezone.now().replace(microsecond=0)
    free = _free_starts(tutor=tutor, since=now - timedelta(hours=23), until=now - timedelta(minutes=61), duration=60)
    if not free:
        return
    starts_at = free[-1]
    lesson = services.lesson_book(
        student=student,
        tutor_id=tutor.id,
        subject=tutor.tutor_profile.subjects.values_list("name", flat=True).first(),
        starts_at=starts_at,
        duration_minutes=60,
        now=starts_at - timedelta(days=1),
    )
    services.lesson_report_problem(
        lesson_id=lesson.pk, student=student, reason="The video kept dropping; we had about 20 minutes.", at=now
    )


def seed_demo(*, scale: int, progress) -> list[tuple[str, str, str]]:
    tutors = list(User.objects.filter(email__in=[demo_email("tutor", i) for i in range(1, len(DEMO_TUTORS) + 1)]))
    students = list(User.objects.filter(email__in=[demo_email("student", i) for i in range(1, 3 * scale + 1)]))
    if not tutors or not students or Lesson.objects.filter(tutor__in=tutors).exists():
        return []
    rng = random.Random(2026)
    for student in students:
        _fund(student)
    for tutor in sorted(tutors, key=lambda user: user.email):
        _tutor_history(tutor=tutor, students=students, rng=rng, count=LESSONS_PER_TUTOR * scale, progress=progress)
    earnings.earnings_clear_due()
    for tutor in tutors:
        if not PayoutMethod.objects.filter(tutor=tutor).exists():
            earnings.payout_method_add(tutor=tutor, token="btok_ok")
    first_tutor = min(tutors, key=lambda user: user.email)
    _disputed_lesson(tutor=first_tutor, student=students[0])
    method = PayoutMethod.objects.filter(tutor=first_tutor).first()
    available = earnings.tutor_account(tutor_id=first_tutor.id, kind=AccountKind.TUTOR_AVAILABLE)
    if available.balance >= max(settings.EARNINGS_MIN_PAYOUT_MINOR, 10_000):
        earnings.withdrawal_request(tutor=first_tutor, amount=available.balance // 2, payout_method_id=method.pk)
    if not RefundRequest.objects.exists():
        _demo_refunds(student=students[0])
    return []


def _demo_refunds(*, student) -> None:
    """The student's latest completed lesson gets a refund request left pending for staff; the one
    before, a refund approved by the demo staff member (the admin shows who decided)."""
    staff = User.objects.filter(email=f"admin@{DEMO_DOMAIN}", is_staff=True).first()
    completed = Lesson.objects.filter(status=LessonStatus.COMPLETED, student=student, refund_request__isnull=True)
    latest = list(completed.order_by("-completed_at")[:2])
    if latest:
        services.refund_request_create(
            student=student, lesson_id=latest[0].pk, reason="The tutor joined 30 minutes late."
        )
    if staff is not None and len(latest) == 2:
        approved = services.refund_request_create(
            student=student, lesson_id=latest[1].pk, reason="The tutor did not show up."
        )
        services.refund_request_approve(refund_request_id=approved.pk, staff=staff)
