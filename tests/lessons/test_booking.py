from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from earnings.models import Earning, EarningKind
from tests.accounts.factories import StudentFactory, TutorFactory
from tests.ledger.factories import funded_wallet
from tests.lessons.factories import SUBJECT, book, ended_lesson, future, past, tutor_teaching
from wemaster.ledger import services as ledger
from wemaster.ledger.models import AccountKind, HoldStatus, Transfer, TransferKind
from wemaster.ledger.reconcile import find_discrepancies
from wemaster.lessons import services
from wemaster.lessons.models import Lesson, LessonStatus

USD = settings.CURRENCY


def balances(tutor):
    pending = ledger.account_for(kind=AccountKind.TUTOR_PENDING, currency=USD, owner=tutor)
    revenue = ledger.platform_account(kind=AccountKind.PLATFORM_REVENUE, currency=USD)
    return pending.balance, revenue.balance


def booking_body(tutor, **overrides):
    body = {"tutor": tutor.id, "subject": SUBJECT, "starts_at": future().isoformat(), "duration_minutes": 60}
    return {**body, **overrides}


@pytest.mark.django_db
def test_booking_prices_the_lesson_and_holds_it(client_for):
    student, tutor = StudentFactory(), tutor_teaching(hourly_rate=4500)
    wallet = funded_wallet(student, 10_000)
    response = client_for(student).post("/api/v1/lessons", booking_body(tutor, duration_minutes=45))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["price"], body["currency"]) == ("booked", "33.75", USD)
    wallet.refresh_from_db()
    assert (wallet.balance, wallet.held) == (10_000, 3_375)


def test_price_rounds_half_up_to_the_cent():
    assert services.lesson_price(hourly_rate=3333, duration_minutes=15) == 833  # 833.25
    assert services.lesson_price(hourly_rate=3334, duration_minutes=45) == 2501  # 2500.5


@pytest.mark.django_db
def test_booking_without_funds_is_402_and_holds_nothing(client_for):
    student, tutor = StudentFactory(), tutor_teaching()
    wallet = funded_wallet(student, 100)
    response = client_for(student).post("/api/v1/lessons", booking_body(tutor))
    assert response.status_code == 402
    assert response.json()["code"] == "insufficient_funds"
    wallet.refresh_from_db()
    assert wallet.held == 0 and not Lesson.objects.exists()


@pytest.mark.django_db
def test_booking_refuses_self_non_tutor_bad_subject_and_past(client_for):
    student, tutor = StudentFactory(), tutor_teaching()
    funded_wallet(student, 100_000)
    client = client_for(student)
    assert client.post("/api/v1/lessons", booking_body(student)).json()["code"] == "cannot_book_self"
    other_student = StudentFactory()
    response = client.post("/api/v1/lessons", booking_body(other_student))
    assert (response.status_code, response.json()["fields"]) == (400, {"tutor": ["Not a tutor."]})
    response = client.post("/api/v1/lessons", booking_body(tutor, subject="alchemy"))
    assert response.status_code == 400 and "subject" in response.json()["fields"]
    response = client.post("/api/v1/lessons", booking_body(tutor, starts_at=future(-1).isoformat()))
    assert response.status_code == 400 and "starts_at" in response.json()["fields"]
    response = client.post("/api/v1/lessons", booking_body(tutor, duration_minutes=7))
    assert response.status_code == 400 and "duration_minutes" in response.json()["fields"]
    assert client_for(tutor).post("/api/v1/lessons", booking_body(tutor_teaching())).status_code == 403


@pytest.mark.django_db
def test_overlapping_slot_of_the_same_tutor_is_409(client_for):
    tutor = tutor_teaching()
    first, second = StudentFactory(), StudentFactory()
    funded_wallet(first, 100_000)
    funded_wallet(second, 100_000)
    starts_at = future()
    assert (
        client_for(first).post("/api/v1/lessons", booking_body(tutor, starts_at=starts_at.isoformat())).status_code
        == 201
    )
    overlapping = (starts_at + timedelta(minutes=30)).isoformat()
    response = client_for(second).post("/api/v1/lessons", booking_body(tutor, starts_at=overlapping))
    assert (response.status_code, response.json()["code"]) == (409, "slot_taken")
    adjacent = (starts_at + timedelta(minutes=60)).isoformat()
    assert client_for(second).post("/api/v1/lessons", booking_body(tutor, starts_at=adjacent)).status_code == 201


@pytest.mark.django_db
def test_booking_is_idempotent_with_a_key(client_for):
    student, tutor = StudentFactory(), tutor_teaching()
    wallet = funded_wallet(student, 100_000)
    client = client_for(student)
    body = booking_body(tutor)
    first = client.post("/api/v1/lessons", body, HTTP_IDEMPOTENCY_KEY="book-1")
    again = client.post("/api/v1/lessons", body, HTTP_IDEMPOTENCY_KEY="book-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    wallet.refresh_from_db()
    assert wallet.held == 4_000 and Lesson.objects.count() == 1


@pytest.mark.django_db
def test_completion_splits_the_charge_exactly_once(client_for, django_capture_on_commit_callbacks):
    student, tutor = StudentFactory(), tutor_teaching(hourly_rate=4000)
    wallet = funded_wallet(student, 10_000)
    window = settings.LESSONS_PROBLEM_REPORT_WINDOW_HOURS
    lesson = ended_lesson(student=student, tutor=tutor, starts_at=past(hours=window + 2))  # the window has closed
    response = client_for(tutor).post(f"/api/v1/lessons/{lesson.pk}/complete")
    assert response.status_code == 200 and response.json()["status"] == "completed"
    assert response.json()["commission"] == "10.00"  # 25 % below 20 hours taught
    assert balances(tutor) == (3_000, 1_000)
    wallet.refresh_from_db()
    assert (wallet.balance, wallet.held) == (6_000, 0)
    earning = Earning.objects.get(lesson_id=lesson.pk)
    assert (earning.gross, earning.commission, earning.net, earning.status) == (4_000, 1_000, 3_000, "pending")
    assert earning.available_on == earning.earned_at + timedelta(days=settings.EARNINGS_CLEARANCE_DAYS)
    for actor in (student, tutor):
        again = client_for(actor).post(f"/api/v1/lessons/{lesson.pk}/complete")
        assert (again.status_code, again.json()["code"]) == (409, "invalid_transition")
        cancel = client_for(actor).post(f"/api/v1/lessons/{lesson.pk}/cancel")
        assert (cancel.status_code, cancel.json()["code"]) == (409, "invalid_transition")
    assert balances(tutor) == (3_000, 1_000)
    assert find_discrepancies() == []


@pytest.mark.django_db
def test_student_can_complete_and_others_get_404(client_for):
    student, tutor = StudentFactory(), tutor_teaching()
    funded_wallet(student, 10_000)
    lesson = ended_lesson(student=student, tutor=tutor)
    stranger = StudentFactory()
    assert client_for(stranger).get(f"/api/v1/lessons/{lesson.pk}").status_code == 404
    assert client_for(stranger).post(f"/api/v1/lessons/{lesson.pk}/complete").status_code == 404
    assert client_for(tutor_teaching()).post(f"/api/v1/lessons/{lesson.pk}/cancel").status_code == 404
    assert client_for(student).post(f"/api/v1/lessons/{lesson.pk}/complete").status_code == 200


@pytest.mark.django_db
def test_early_cancellation_releases_the_hold(client_for):
    student, tutor = StudentFactory(), tutor_teaching()
    wallet = funded_wallet(student, 10_000)
    lesson = book(student=student, tutor=tutor, starts_at=future(hours=72))
    response = client_for(student).post(f"/api/v1/lessons/{lesson.pk}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    wallet.refresh_from_db()
    assert (wallet.balance, wallet.held) == (10_000, 0)
    lesson.hold.refresh_from_db()
    assert lesson.hold.status == HoldStatus.VOIDED


@pytest.mark.django_db
def test_late_cancellation_fee_is_charged_like_a_lesson_with_commission(client_for):
    student, tutor = StudentFactory(), tutor_teaching(hourly_rate=4000)
    wallet = funded_wallet(student, 10_000)
    lesson = book(student=student, tutor=tutor, starts_at=future(hours=2))
    response = client_for(student).post(f"/api/v1/lessons/{lesson.pk}/cancel")
    body = response.json()
    assert (body["status"], body["cancellation_fee"], body["commission"]) == ("cancelled", "20.00", "5.00")
    wallet.refresh_from_db()
    assert (wallet.balance, wallet.held) == (8_000, 0)  # the fee is charged, the rest released
    assert balances(tutor) == (1_500, 500)  # 25 % commission to platform revenue, the net to the tutor
    earning = Earning.objects.get(lesson_id=lesson.pk)
    assert earning.kind == EarningKind.CANCELLATION_FEE
    assert (earning.gross, earning.commission, earning.net, earning.commission_percent) == (2_000, 500, 1_500, 25)
    assert earning.commission + earning.net == earning.gross
    assert Transfer.objects.filter(kind=TransferKind.LESSON_CANCELLATION_FEE).count() == 1
    assert find_discrepancies() == []


@pytest.mark.django_db
def test_a_tutor_cancelling_late_charges_nothing(client_for):
    student, tutor = StudentFactory(), tutor_teaching()
    wallet = funded_wallet(student, 10_000)
    lesson = book(student=student, tutor=tutor, starts_at=future(hours=2))
    assert client_for(tutor).post(f"/api/v1/lessons/{lesson.pk}/cancel").json()["cancellation_fee"] == "0.00"
    wallet.refresh_from_db()
    assert (wallet.balance, wallet.held) == (10_000, 0)


@pytest.mark.django_db
def test_list_shows_the_callers_lessons_filtered_by_status(client_for, django_assert_num_queries):
    student, tutor = StudentFactory(), tutor_teaching(hourly_rate=100)
    funded_wallet(student, 100_000)
    lessons = [book(student=student, tutor=tutor, starts_at=future(hours=48 + 2 * i)) for i in range(12)]
    window = timedelta(hours=settings.LESSONS_PROBLEM_REPORT_WINDOW_HOURS)
    services.lesson_complete(lesson_id=lessons[0].pk, actor=tutor, at=lessons[0].ends_at + window)
    other = StudentFactory()
    funded_wallet(other, 10_000)
    book(student=other, tutor=tutor_teaching())
    for user in (student, tutor):
        body = client_for(user).get("/api/v1/lessons?page_size=100").json()
        assert {row["id"] for row in body["results"]} == {lesson.pk for lesson in lessons}
    completed = client_for(tutor).get("/api/v1/lessons?status=completed").json()["results"]
    assert [row["id"] for row in completed] == [lessons[0].pk]
    assert client_for(student).get("/api/v1/lessons?status=nope").status_code == 400
    client = client_for(student)
    client.get("/api/v1/lessons")  # warm the token/user caches
    with django_assert_num_queries(1) as small:
        client.get("/api/v1/lessons?page_size=2")
    with django_assert_num_queries(len(small.captured_queries)):
        client.get("/api/v1/lessons?page_size=100")


@pytest.mark.django_db
def test_auto_complete_finishes_lessons_some_hours_after_they_end():
    student, tutor = StudentFactory(), tutor_teaching()
    funded_wallet(student, 100_000)
    now = timezone.now()
    long_ago = book(student=student, tutor=tutor, starts_at=now - timedelta(hours=30), now=now - timedelta(days=3))
    recent = book(student=student, tutor=tutor, starts_at=now - timedelta(hours=3), now=now - timedelta(days=3))
    assert services.lessons_auto_complete(now=now) == 1
    long_ago.refresh_from_db()
    recent.refresh_from_db()
    assert (long_ago.status, recent.status) == (LessonStatus.COMPLETED, LessonStatus.BOOKED)
    assert services.lessons_auto_complete(now=now) == 0
    assert find_discrepancies() == []


@pytest.mark.django_db
@pytest.mark.parametrize("profile", [{"profile__hourly_rate": 0}, {"profile__subjects": []}])
def test_a_tutor_without_a_rate_or_a_subject_cannot_be_booked(client_for, profile):
    student, tutor = StudentFactory(), TutorFactory(**profile)
    wallet = funded_wallet(student, 100_000)
    response = client_for(student).post("/api/v1/lessons", booking_body(tutor))
    assert (response.status_code, response.json()["code"]) == (400, "tutor_not_bookable")
    wallet.refresh_from_db()
    assert wallet.held == 0 and not Lesson.objects.exists()


@pytest.mark.django_db
def test_the_bookability_check_adds_no_query_to_booking(django_assert_num_queries, settings):
    """The tutor's profile is locked, checked and its subject found in one query: with the overlap
    check, the wallet account, the hold and the lesson, ten queries (savepoints included). The
    tutor's notification adds six: its insert and its event (the tutor's first, so their event
    sequence is created: lock, create, lock again, number, store)."""
    settings.CACHALOT_ENABLED = False
    student, tutor = StudentFactory(), tutor_teaching("physics", SUBJECT)
    funded_wallet(student, 100_000)
    with django_assert_num_queries(10 + 6):
        lesson = book(student=student, tutor=tutor)
    assert (lesson.subject.name, lesson.price) == (SUBJECT, 4_000)
