from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from earnings import services
from earnings.warmers import WARMERS
from tests.accounts.factories import StudentFactory
from tests.earnings.factories import EarningFactory
from tests.ledger.factories import funded_wallet
from tests.lessons.factories import completed_lesson, ended_lesson, tutor_teaching
from wemaster.lessons import services as lessons

EARNINGS_URLS = [
    "/api/v1/earnings/overview",
    "/api/v1/earnings/analytics",
    "/api/v1/earnings/transactions",
    "/api/v1/earnings/payout-methods",
    "/api/v1/earnings/withdrawals",
]


@pytest.mark.django_db
def test_overview_is_cached_and_fresh_after_a_completed_lesson(
    client_for, django_assert_num_queries, django_capture_on_commit_callbacks
):
    student, tutor = StudentFactory(), tutor_teaching(hourly_rate=4000)
    funded_wallet(student, 100_000)
    completed_lesson(student=student, tutor=tutor)
    client = client_for(tutor)
    first = client.get("/api/v1/earnings/overview").json()
    assert first == {
        "pending": "30.00",
        "available": "0.00",
        "owed": "0.00",
        "paid_out": "0.00",
        "lifetime_gross": "40.00",
        "lifetime_net": "30.00",
        "this_month_net": "30.00",
        "hours_taught": 1.0,
        "commission_rate": 25,
        "next_tier": {"rate": 20, "hours_to_go": 19.0},
        "currency": settings.CURRENCY,
    }
    with django_assert_num_queries(0):
        assert client.get("/api/v1/earnings/overview").json() == first
    lesson = ended_lesson(student=student, tutor=tutor)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        lessons.lesson_complete(lesson_id=lesson.pk, actor=student)
    assert callbacks  # the tag is bumped only once the completion commits
    fresh = client.get("/api/v1/earnings/overview").json()
    assert (fresh["pending"], fresh["lifetime_gross"], fresh["hours_taught"]) == ("60.00", "80.00", 2.0)


@pytest.mark.django_db
def test_clearance_and_withdrawal_invalidate_the_overview(client_for, django_capture_on_commit_callbacks):
    student, tutor = StudentFactory(), tutor_teaching(hourly_rate=4000)
    funded_wallet(student, 100_000)
    completed_lesson(student=student, tutor=tutor)
    client = client_for(tutor)
    assert client.get("/api/v1/earnings/overview").json()["available"] == "0.00"
    with django_capture_on_commit_callbacks(execute=True):
        services.earnings_clear_due(now=timezone.now() + timedelta(days=settings.EARNINGS_CLEARANCE_DAYS, seconds=1))
    body = client.get("/api/v1/earnings/overview").json()
    assert (body["pending"], body["available"]) == ("0.00", "30.00")
    method = services.payout_method_add(tutor=tutor, token="btok_ok")
    with django_capture_on_commit_callbacks(execute=True):
        services.withdrawal_request(tutor=tutor, amount=2_000, payout_method_id=method.pk)
    body = client.get("/api/v1/earnings/overview").json()
    assert (body["available"], body["paid_out"]) == ("10.00", "20.00")  # the eager payout task ran on commit


@pytest.mark.django_db
@pytest.mark.parametrize("url", EARNINGS_URLS)
def test_students_cannot_use_earnings_endpoints(client_for, url):
    response = client_for(StudentFactory()).get(url)
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")


@pytest.mark.django_db
def test_anonymous_gets_401(api_client):
    assert api_client.get("/api/v1/earnings/overview").status_code == 401


@pytest.mark.django_db
def test_tutor_a_cannot_see_tutor_bs_transactions_or_withdrawals(client_for):
    student, tutor_a, tutor_b = StudentFactory(), tutor_teaching(), tutor_teaching()
    funded_wallet(student, 100_000)
    completed_lesson(student=student, tutor=tutor_b)
    services.earnings_clear_due(now=timezone.now() + timedelta(days=settings.EARNINGS_CLEARANCE_DAYS, seconds=1))
    method = services.payout_method_add(tutor=tutor_b, token="btok_ok")
    withdrawal = services.withdrawal_request(tutor=tutor_b, amount=2_000, payout_method_id=method.pk)
    earning = tutor_b.earnings.get()
    client_a = client_for(tutor_a)
    assert client_a.get(f"/api/v1/earnings/transactions/{earning.pk}").status_code == 404
    assert client_a.get(f"/api/v1/earnings/withdrawals/{withdrawal.pk}").status_code == 404
    assert client_a.get("/api/v1/earnings/transactions").json()["results"] == []
    assert client_a.get("/api/v1/earnings/withdrawals").json()["results"] == []
    response = client_a.post("/api/v1/earnings/withdrawals", {"amount": "20.00", "payout_method": method.pk})
    assert response.status_code == 404  # B's payout method
    client_b = client_for(tutor_b)
    assert client_b.get(f"/api/v1/earnings/transactions/{earning.pk}").status_code == 200
    assert client_b.get(f"/api/v1/earnings/withdrawals/{withdrawal.pk}").status_code == 200


@pytest.mark.django_db
def test_transactions_show_fee_breakdown_filter_and_keep_query_count(client_for, django_assert_num_queries):
    tutor = tutor_teaching()
    for index in range(12):
        EarningFactory(tutor=tutor, kind="cancellation_fee" if index % 4 == 0 else "lesson")
    client = client_for(tutor)
    body = client.get("/api/v1/earnings/transactions?type=lesson&status=pending&page_size=100").json()
    assert len(body["results"]) == 9
    row = body["results"][0]
    assert {"id", "type", "gross", "commission", "net", "status", "available_on", "lesson"} <= set(row)
    assert (row["gross"], row["commission"], row["net"]) == ("40.00", "10.00", "30.00")
    assert client.get("/api/v1/earnings/transactions?status=bogus").status_code == 400
    with django_assert_num_queries(1) as small:
        client.get("/api/v1/earnings/transactions?page_size=2")
    with django_assert_num_queries(len(small.captured_queries)):
        client.get("/api/v1/earnings/transactions?page_size=100")


@pytest.mark.django_db
def test_overview_warmer_fills_the_cache_for_active_tutors(client_for, django_assert_num_queries):
    tutor = tutor_teaching()
    EarningFactory(tutor=tutor)
    assert WARMERS["earnings_overview"]() == 1
    client = client_for(tutor)
    client.get("/api/v1/me")  # token and user rows now cached by cachalot
    with django_assert_num_queries(0):
        assert client.get("/api/v1/earnings/overview").status_code == 200
