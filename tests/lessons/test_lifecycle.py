"""Issue 13, point 4: cancel only before the start, complete only after the end, and the
student's problem-report window before the tutor (or the auto-completion) can capture."""

import logging
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from earnings.models import Earning
from tests.accounts.factories import StudentFactory
from tests.ledger.factories import funded_wallet
from tests.lessons.factories import book, ended_lesson, future, past, tutor_teaching
from wemaster.ledger import services as ledger
from wemaster.ledger.models import AccountKind, HoldStatus, Transfer
from wemaster.ledger.reconcile import find_discrepancies
from wemaster.lessons import services
from wemaster.lessons.errors import LessonStarted, ReportWindowClosed, ReportWindowOpen
from wemaster.lessons.models import Lesson, LessonStatus

USD = settings.CURRENCY
WINDOW = timedelta(hours=settings.LESSONS_PROBLEM_REPORT_WINDOW_HOURS)


@pytest.fixture
def pair(db):
    student, tutor = StudentFactory(), tutor_teaching(hourly_rate=4000)
    funded_wallet(student, 10_000)
    return student, tutor


def money(student, tutor) -> tuple[int, int, int, int]:
    """(wallet balance, wallet held, tutor pending, platform revenue)."""
    wallet = ledger.student_wallet_account(student=student, currency=USD)
    pending = ledger.account_for(kind=AccountKind.TUTOR_PENDING, currency=USD, owner=tutor)
    revenue = ledger.platform_account(kind=AccountKind.PLATFORM_REVENUE, currency=USD)
    return wallet.balance, wallet.held, pending.balance, revenue.balance


def in_progress(student, tutor) -> Lesson:
    return book(student=student, tutor=tutor, starts_at=past(hours=0.5), now=past(hours=48))


def post(client, lesson, action, body=None):
    response = client.post(f"/api/v1/lessons/{lesson.pk}/{action}", body or {})
    return response.status_code, response.json()


# --- cancel: before the start only ----------------------------------------------------------------


@pytest.mark.django_db
def test_cancelling_once_the_lesson_has_started_is_409_lesson_started_for_both(client_for, pair):
    student, tutor = pair
    lesson = in_progress(student, tutor)
    for actor in (student, tutor):
        status, body = post(client_for(actor), lesson, "cancel")
        assert (status, body["code"]) == (409, "lesson_started")
        assert lesson.starts_at.strftime("%Y-%m-%dT%H:%M:%SZ") in body["detail"]
    assert money(student, tutor) == (10_000, 4_000, 0, 0)
    ended = ended_lesson(student=student, tutor=tutor, starts_at=past(hours=5))
    assert post(client_for(student), ended, "cancel")[1]["code"] == "lesson_started"
    assert not Transfer.objects.filter(reference__in=[lesson.charge_reference, ended.charge_reference]).exists()


@pytest.mark.django_db
def test_the_start_itself_is_too_late_a_second_before_is_a_late_cancellation(pair):
    student, tutor = pair
    first = book(student=student, tutor=tutor, starts_at=future(hours=2))
    with pytest.raises(LessonStarted):
        services.lesson_cancel(lesson_id=first.pk, actor=student, at=first.starts_at)
    cancelled = services.lesson_cancel(lesson_id=first.pk, actor=student, at=first.starts_at - timedelta(seconds=1))
    assert (cancelled.status, cancelled.cancellation_fee, cancelled.commission) == (LessonStatus.CANCELLED, 2_000, 500)


@pytest.mark.django_db
def test_late_fee_pays_commission_at_the_tutors_tier(pair):
    student, tutor = pair
    funded_wallet(student, 100_000)
    for index in range(21):  # 21 hours taught: the 20 % tier
        lesson = ended_lesson(student=student, tutor=tutor, starts_at=past(hours=30 + index), duration_minutes=60)
        services.lesson_complete(lesson_id=lesson.pk, actor=student)
    before = money(student, tutor)
    lesson = book(student=student, tutor=tutor, starts_at=future(hours=3), duration_minutes=15)  # 10.00
    cancelled = services.lesson_cancel(lesson_id=lesson.pk, actor=student)
    assert (cancelled.cancellation_fee, cancelled.commission) == (500, 100)  # 50 % of 10.00; 20 % of that
    earning = Earning.objects.get(lesson_id=lesson.pk)
    assert (earning.gross, earning.commission, earning.net, earning.commission_percent) == (500, 100, 400, 20)
    after = money(student, tutor)
    assert (after[0] - before[0], after[1] - before[1]) == (-500, 0)
    assert (after[2] - before[2], after[3] - before[3]) == (400, 100)
    assert find_discrepancies() == []


# --- complete: after the end; the tutor after the report window --------------------------------------


@pytest.mark.django_db
def test_completing_before_the_end_is_409_lesson_not_ended(client_for, pair):
    student, tutor = pair
    for lesson in (in_progress(student, tutor), book(student=student, tutor=tutor, starts_at=future(hours=5))):
        for actor in (student, tutor):
            status, body = post(client_for(actor), lesson, "complete")
            assert (status, body["code"]) == (409, "lesson_not_ended")
    assert money(student, tutor) == (10_000, 8_000, 0, 0)


@pytest.mark.django_db
def test_the_tutor_completing_inside_the_report_window_is_409_report_window_open(client_for, pair):
    student, tutor = pair
    lesson = ended_lesson(student=student, tutor=tutor)
    status, body = post(client_for(tutor), lesson, "complete")
    assert (status, body["code"]) == (409, "report_window_open")
    deadline = lesson.ends_at + WINDOW
    assert deadline.strftime("%Y-%m-%dT%H:%M:%SZ") in body["detail"] and "automatically" in body["detail"]
    assert money(student, tutor) == (10_000, 4_000, 0, 0)
    with pytest.raises(ReportWindowOpen):
        services.lesson_complete(lesson_id=lesson.pk, actor=tutor, at=deadline - timedelta(seconds=1))
    completed = services.lesson_complete(lesson_id=lesson.pk, actor=tutor, at=deadline)
    assert completed.status == LessonStatus.COMPLETED
    assert money(student, tutor) == (6_000, 0, 3_000, 1_000)


@pytest.mark.django_db
def test_the_students_confirmation_after_the_end_captures_at_once(client_for, pair):
    student, tutor = pair
    lesson = ended_lesson(student=student, tutor=tutor)
    status, body = post(client_for(student), lesson, "complete")
    assert (status, body["status"], body["commission"]) == (200, "completed", "10.00")
    assert money(student, tutor) == (6_000, 0, 3_000, 1_000)
    assert find_discrepancies() == []


# --- problem reports ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_problem_reported_inside_the_window_disputes_the_lesson_and_keeps_the_hold(client_for, pair):
    student, tutor = pair
    lesson = ended_lesson(student=student, tutor=tutor)
    status, body = post(client_for(student), lesson, "report-problem", {"reason": "  The tutor never came.  "})
    assert (status, body["status"], body["problem_reason"]) == (200, "disputed", "The tutor never came.")
    assert body["reported_at"] is not None and body["resolved_at"] is None and body["resolution"] == ""
    lesson.hold.refresh_from_db()
    assert lesson.hold.status == HoldStatus.PENDING
    assert money(student, tutor) == (10_000, 4_000, 0, 0)
    for actor in (student, tutor):
        assert post(client_for(actor), lesson, "complete")[1]["code"] == "invalid_transition"
        assert post(client_for(actor), lesson, "cancel")[1]["code"] == "invalid_transition"
    again = post(client_for(student), lesson, "report-problem", {"reason": "again"})
    assert (again[0], again[1]["code"]) == (409, "invalid_transition")
    assert services.lessons_auto_complete(now=timezone.now() + timedelta(days=30)) == 0
    lesson.refresh_from_db()
    assert lesson.status == LessonStatus.DISPUTED
    assert money(student, tutor) == (10_000, 4_000, 0, 0)
    assert find_discrepancies() == []


@pytest.mark.django_db
def test_problem_reports_before_the_end_after_the_window_or_by_others_are_refused(client_for, pair):
    student, tutor = pair
    funded_wallet(student, 10_000)
    reason = {"reason": "Bad audio"}
    running = in_progress(student, tutor)
    assert post(client_for(student), running, "report-problem", reason)[1]["code"] == "lesson_not_ended"
    late = ended_lesson(student=student, tutor=tutor, starts_at=past(hours=WINDOW.total_seconds() / 3600 + 2))
    status, body = post(client_for(student), late, "report-problem", reason)
    assert (status, body["code"]) == (409, "report_window_closed")
    recent = ended_lesson(student=student, tutor=tutor, starts_at=past(hours=3))
    status, body = post(client_for(tutor), recent, "report-problem", reason)
    assert (status, body["code"]) == (403, "permission_denied")
    assert post(client_for(StudentFactory()), recent, "report-problem", reason)[0] == 404
    assert post(client_for(student), recent, "report-problem", {"reason": "   "})[0] == 400
    assert post(client_for(student), recent, "report-problem", {"reason": "x" * 2001})[0] == 400
    assert set(Lesson.objects.values_list("status", flat=True)) == {LessonStatus.BOOKED}


@pytest.mark.django_db
def test_the_window_closes_exactly_at_its_end(pair):
    student, tutor = pair
    lesson = ended_lesson(student=student, tutor=tutor)
    deadline = lesson.ends_at + WINDOW
    with pytest.raises(ReportWindowClosed):
        services.lesson_report_problem(lesson_id=lesson.pk, student=student, reason="x", at=deadline)
    with pytest.raises(ReportWindowOpen):
        services.lesson_complete(lesson_id=lesson.pk, actor=None, at=deadline - timedelta(seconds=1))
    reported = services.lesson_report_problem(
        lesson_id=lesson.pk, student=student, reason="x", at=deadline - timedelta(seconds=1)
    )
    assert reported.status == LessonStatus.DISPUTED


# --- auto-completion -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_auto_complete_waits_for_the_longer_of_the_report_window_and_its_own_delay(settings, pair):
    student, tutor = pair
    settings.LESSONS_PROBLEM_REPORT_WINDOW_HOURS = 48
    settings.LESSONS_AUTO_COMPLETE_AFTER_HOURS = 24
    inside = ended_lesson(student=student, tutor=tutor, starts_at=past(hours=31))  # ended 30 h ago
    outside = ended_lesson(student=student, tutor=tutor, starts_at=past(hours=50))  # ended 49 h ago
    assert services.lessons_auto_complete() == 1
    statuses = dict(Lesson.objects.values_list("id", "status"))
    assert statuses == {inside.pk: LessonStatus.BOOKED, outside.pk: LessonStatus.COMPLETED}
    settings.LESSONS_PROBLEM_REPORT_WINDOW_HOURS = 12
    settings.LESSONS_AUTO_COMPLETE_AFTER_HOURS = 36
    assert services.lessons_auto_complete() == 0  # 30 h < 36 h
    assert services.lessons_auto_complete(now=timezone.now() + timedelta(hours=7)) == 1


@pytest.mark.django_db
def test_auto_complete_goes_on_past_a_lesson_that_fails(pair, caplog):
    student, tutor = pair
    funded_wallet(student, 10_000)
    lessons = [ended_lesson(student=student, tutor=tutor, starts_at=past(hours=30 + 2 * index)) for index in range(3)]
    broken = lessons[1]
    ledger.hold_void(hold=broken.hold)  # its hold is gone: completing it raises HoldAlreadyResolved
    with caplog.at_level(logging.WARNING, logger="wemaster.lessons.services"):
        assert services.lessons_auto_complete() == 2
    statuses = dict(Lesson.objects.values_list("id", "status"))
    assert statuses == {
        lessons[0].pk: LessonStatus.COMPLETED,
        broken.pk: LessonStatus.BOOKED,
        lessons[2].pk: LessonStatus.COMPLETED,
    }
    (record,) = [record for record in caplog.records if record.msg == "lesson auto-completion failed"]
    assert (record.lesson, record.code) == (broken.pk, "hold_already_resolved")


# --- list filter -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_disputed_lessons_are_listed_by_status_in_constant_queries(client_for, pair, django_assert_num_queries):
    student, tutor = pair
    funded_wallet(student, 100_000)
    lessons = [ended_lesson(student=student, tutor=tutor, starts_at=past(hours=2 + 2 * i)) for i in range(8)]
    for lesson in lessons[:6]:
        services.lesson_report_problem(lesson_id=lesson.pk, student=student, reason="no show")
    for user in (student, tutor):
        rows = client_for(user).get("/api/v1/lessons?status=disputed&page_size=100").json()["results"]
        assert sorted(row["id"] for row in rows) == sorted(lesson.pk for lesson in lessons[:6])
        assert {row["problem_reason"] for row in rows} == {"no show"}
    client = client_for(student)
    client.get("/api/v1/lessons?status=disputed")  # warm the token/user caches
    with django_assert_num_queries(1) as small:
        client.get("/api/v1/lessons?status=disputed&page_size=2")
    with django_assert_num_queries(len(small.captured_queries)):
        client.get("/api/v1/lessons?status=disputed&page_size=100")
