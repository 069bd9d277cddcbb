"""Issue 13, point 3: bookings, completions and cancellations of one student/tutor pair at once.

Before the lock order, about half of them answered 503 "deadlock detected": booking locked the
tutor profile joined to the tutor's user row, completion locked the wallet and then needed a
KEY SHARE lock on that user row for the earning's foreign key.
"""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.db import connection, connections, transaction
from rest_framework.test import APIClient

from tests.accounts.factories import StudentFactory, token_for
from tests.ledger.factories import funded_wallet
from tests.lessons.factories import SUBJECT, book, future, past, tutor_teaching
from wemaster.ledger import services as ledger
from wemaster.ledger.metrics import lock_conflict_retries, lock_conflicts_given_up
from wemaster.ledger.models import AccountKind
from wemaster.ledger.reconcile import find_discrepancies
from wemaster.lessons import services
from wemaster.lessons.models import Lesson, LessonStatus

USD = settings.CURRENCY
PRICE = 4_000  # 40.00/h, 60-minute lessons; every charge below is at the 25 % tier
WINDOW = settings.LESSONS_PROBLEM_REPORT_WINDOW_HOURS


def counted(counter) -> float:
    return sum(
        sample.value for metric in counter.collect() for sample in metric.samples if sample.name.endswith("_total")
    )


@dataclass(frozen=True)
class Call:
    kind: str
    user_id: int
    path: str
    body: dict | None = None


def the_mix(student, tutor) -> list[Call]:
    """10 bookings of future slots, 10 completions of ended lessons (5 by the tutor after the
    report window, 5 confirmed by the student), 6 cancellations of future lessons (3 late by the
    student: a fee with commission; 2 early by the student, 1 by the tutor: free)."""
    calls = []
    for index in range(10):
        slot = {"tutor": tutor.id, "subject": SUBJECT, "starts_at": future(100 + 2 * index).isoformat()}
        calls.append(Call("book", student.id, "/api/v1/lessons", {**slot, "duration_minutes": 60}))
    for index in range(5):
        starts_at = past(hours=WINDOW + 3 + 2 * index)
        lesson = book(student=student, tutor=tutor, starts_at=starts_at, now=past(hours=WINDOW + 72))
        calls.append(Call("complete", tutor.id, f"/api/v1/lessons/{lesson.pk}/complete"))
    for index in range(5):
        starts_at = past(hours=2 + 2 * index)
        lesson = book(student=student, tutor=tutor, starts_at=starts_at, now=past(hours=72))
        calls.append(Call("complete", student.id, f"/api/v1/lessons/{lesson.pk}/complete"))
    for hours, canceller in ((3, student), (5, student), (7, student), (60, student), (62, student), (64, tutor)):
        lesson = book(student=student, tutor=tutor, starts_at=future(hours))
        calls.append(Call("cancel", canceller.id, f"/api/v1/lessons/{lesson.pk}/cancel"))
    return calls


def run_at_once(calls: list[Call], tokens: dict[int, str]) -> Counter:
    start = threading.Barrier(len(calls), timeout=30)

    def send(numbered) -> tuple[str, int, str]:
        index, call = numbered
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {tokens[call.user_id]}")
        headers = {"HTTP_IDEMPOTENCY_KEY": f"mix-{index}"} if index % 2 else {}  # both retrying levels
        try:
            start.wait()
            response = client.post(call.path, call.body or {}, **headers)
            return call.kind, response.status_code, response.json().get("code", "")
        finally:
            connections.close_all()

    with ThreadPoolExecutor(len(calls)) as pool:
        return Counter(pool.map(send, enumerate(calls)))


def money(student, tutor) -> tuple[int, int, int, int]:
    wallet = ledger.student_wallet_account(student=student, currency=USD)
    pending = ledger.account_for(kind=AccountKind.TUTOR_PENDING, currency=USD, owner=tutor)
    revenue = ledger.platform_account(kind=AccountKind.PLATFORM_REVENUE, currency=USD)
    return wallet.balance, wallet.held, pending.balance, revenue.balance


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "attempts",
    [
        pytest.param(1, id="no-retries: the lock order alone prevents every deadlock"),
        pytest.param(None, id="with-retries: nothing escapes as 5xx or lock_conflict"),
    ],
)
def test_bookings_completions_and_cancellations_of_one_pair_at_once(settings, attempts):
    settings.RATE_LIMITS_ENABLED = False
    if attempts is not None:
        settings.LOCK_CONFLICT_RETRY_ATTEMPTS = attempts
    student, tutor = StudentFactory(), tutor_teaching(hourly_rate=PRICE)
    funded_wallet(student, 100_000)
    tokens = {user.id: token_for(user) for user in (student, tutor)}
    calls = the_mix(student, tutor)
    retried, given_up = counted(lock_conflict_retries), counted(lock_conflicts_given_up)

    outcomes = run_at_once(calls, tokens)

    assert outcomes == {("book", 201, ""): 10, ("complete", 200, ""): 10, ("cancel", 200, ""): 6}
    assert counted(lock_conflicts_given_up) == given_up
    if attempts == 1:
        assert counted(lock_conflict_retries) == retried
    statuses = Counter(Lesson.objects.values_list("status", flat=True))
    assert statuses == {LessonStatus.BOOKED: 10, LessonStatus.COMPLETED: 10, LessonStatus.CANCELLED: 6}
    charged = 10 * PRICE + 3 * PRICE // 2  # ten lessons and three late fees of 50 %
    commission = charged // 4
    assert money(student, tutor) == (100_000 - charged, 10 * PRICE, charged - commission, commission)
    assert find_discrepancies() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_auto_complete_goes_on_past_a_lesson_whose_lock_conflict_outlasts_the_retries(settings):
    settings.LOCK_CONFLICT_RETRY_ATTEMPTS = 2
    student, tutor = StudentFactory(), tutor_teaching(hourly_rate=PRICE)
    funded_wallet(student, 100_000)
    due = [book(student=student, tutor=tutor, starts_at=past(hours=50 + 2 * i), now=past(hours=100)) for i in range(3)]
    locked, release = threading.Event(), threading.Event()

    def hold_the_middle_lesson():
        try:
            with transaction.atomic():
                Lesson.objects.select_for_update().get(pk=due[1].pk)
                locked.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    given_up = lock_conflicts_given_up.labels("lesson_complete", "lock_not_available")._value.get()
    with ThreadPoolExecutor(1) as pool:
        holder = pool.submit(hold_the_middle_lesson)
        assert locked.wait(timeout=10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '200ms'")  # 55P03 instead of waiting
        try:
            completed = services.lessons_auto_complete()
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout")
            release.set()
        holder.result()
    assert completed == 2
    statuses = dict(Lesson.objects.values_list("id", "status"))
    assert statuses == {due[0].pk: "completed", due[1].pk: "booked", due[2].pk: "completed"}
    assert lock_conflicts_given_up.labels("lesson_complete", "lock_not_available")._value.get() == given_up + 1
    assert services.lessons_auto_complete() == 1  # the next run completes it
    assert find_discrepancies() == []
