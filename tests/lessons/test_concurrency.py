"""Money races through the API with real threads on PostgreSQL."""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connections
from rest_framework.test import APIClient

from tests.accounts.factories import StudentFactory, token_for
from tests.ledger.factories import funded_wallet
from tests.lessons.factories import SUBJECT, future, tutor_teaching
from wemaster.ledger import services as ledger
from wemaster.ledger.models import AccountKind
from wemaster.ledger.reconcile import find_discrepancies
from wemaster.lessons import services
from wemaster.lessons.errors import SlotTaken
from wemaster.lessons.models import Lesson, LessonStatus

THREADS, BOOKINGS = 16, 200


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_200_concurrent_bookings_against_100_dollars_then_completion_credits_net(settings):
    settings.RATE_LIMITS_ENABLED = False
    student, tutor = StudentFactory(), tutor_teaching(hourly_rate=100)  # 1.00 per 60-minute lesson
    wallet = funded_wallet(student, 10_000)
    token = token_for(student)
    start = future(hours=48)

    def book(index: int) -> int:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        body = {
            "tutor": tutor.id,
            "subject": SUBJECT,
            "starts_at": (start + timedelta(hours=index)).isoformat(),
            "duration_minutes": 60,
        }
        try:
            return client.post("/api/v1/lessons", body).status_code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(THREADS) as pool:
        statuses = Counter(pool.map(book, range(BOOKINGS)))
    assert statuses == {201: 100, 402: 100}
    wallet.refresh_from_db()
    assert (wallet.balance, wallet.held, wallet.available) == (10_000, 10_000, 0)

    window = timedelta(hours=settings.LESSONS_PROBLEM_REPORT_WINDOW_HOURS)
    for lesson in Lesson.objects.order_by("starts_at"):
        services.lesson_complete(lesson_id=lesson.pk, actor=tutor, at=lesson.ends_at + window)
    lessons = Lesson.objects.filter(status=LessonStatus.COMPLETED)
    commission = sum(lessons.values_list("commission", flat=True))
    # 1 hour each: the first 20 at 25 %, the next 80 at 20 % (EARNINGS_COMMISSION_TIERS).
    assert commission == 20 * 25 + 80 * 20
    pending = ledger.account_for(kind=AccountKind.TUTOR_PENDING, currency=settings.CURRENCY, owner=tutor)
    revenue = ledger.platform_account(kind=AccountKind.PLATFORM_REVENUE, currency=settings.CURRENCY)
    assert (pending.balance, revenue.balance) == (10_000 - commission, commission)
    wallet.refresh_from_db()
    assert (wallet.balance, wallet.held) == (0, 0)
    assert find_discrepancies() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_bookings_of_one_slot_admit_exactly_one(settings):
    settings.RATE_LIMITS_ENABLED = False
    tutor = tutor_teaching(hourly_rate=100)
    students = [StudentFactory() for _ in range(8)]
    for student in students:
        funded_wallet(student, 1_000)
    starts_at = future()

    def book(student) -> str:
        try:
            services.lesson_book(
                student=student, tutor_id=tutor.id, subject=SUBJECT, starts_at=starts_at, duration_minutes=60
            )
            return "booked"
        except SlotTaken:
            return "slot_taken"
        finally:
            connections.close_all()

    with ThreadPoolExecutor(8) as pool:
        outcomes = Counter(pool.map(book, students))
    assert outcomes == {"booked": 1, "slot_taken": 7}
    assert find_discrepancies() == []
