"""A tutor reads the refund requests on lessons they taught (GET /earnings/refund-requests): read
only, another tutor's is 404, students and staff use their own routes."""

import pytest

from tests.accounts.factories import StaffFactory, StudentFactory
from tests.ledger.factories import funded_wallet
from tests.lessons.factories import completed_lesson, tutor_teaching
from wemaster.lessons import services
from wemaster.lessons.models import RefundRequest

REFUNDS = "/api/v1/earnings/refund-requests"

pytestmark = pytest.mark.django_db


def refund_on(tutor, *, student=None, reason="The tutor never showed up") -> RefundRequest:
    student = student or StudentFactory()
    funded_wallet(student, 10_000)
    lesson = completed_lesson(student=student, tutor=tutor)
    return services.refund_request_create(student=student, lesson_id=lesson.pk, reason=reason)


def test_the_tutor_sees_requests_on_own_lessons_with_the_outcome(client_for):
    tutor = tutor_teaching()
    pending = refund_on(tutor)
    approved = refund_on(tutor, reason="Half the lesson was lost")
    services.refund_request_approve(refund_request_id=approved.pk, staff=StaffFactory())
    refund_on(tutor_teaching())  # another tutor's lesson
    client = client_for(tutor)

    body = client.get(REFUNDS).json()
    assert set(body) == {"results", "next", "previous"}
    assert [row["id"] for row in body["results"]] == [approved.pk, pending.pk]
    row = body["results"][0]
    assert (row["status"], row["amount"], row["reason"], row["lesson"]) == (
        "approved",
        "40.00",
        "Half the lesson was lost",
        approved.lesson_id,
    )
    assert row["student"] == {"id": approved.student_id, "display_name": approved.student.display_name}
    approved.refresh_from_db()
    assert row["tutor_recovered"] == f"{approved.tutor_recovered / 100:.2f}" and row["platform_covered"] == "0.00"
    assert [r["id"] for r in client.get(REFUNDS, {"status": "pending"}).json()["results"]] == [pending.pk]
    assert client.get(REFUNDS, {"status": "nonsense"}).status_code == 400
    detail = client.get(f"{REFUNDS}/{pending.pk}")
    assert (detail.status_code, detail.json()["status"]) == (200, "pending")


def test_another_tutors_request_is_404_and_the_view_is_read_only(client_for):
    theirs = refund_on(tutor_teaching())
    client = client_for(tutor_teaching())
    response = client.get(f"{REFUNDS}/{theirs.pk}")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert client.get(REFUNDS).json()["results"] == []
    for response in (client.post(REFUNDS, {"lesson": theirs.lesson_id, "reason": "x"}), client.delete(REFUNDS)):
        assert (response.status_code, response.json()["code"]) == (405, "method_not_allowed")


@pytest.mark.parametrize("make_user", [StudentFactory, StaffFactory])
def test_only_tutors_use_this_view(client_for, make_user):
    refund = refund_on(tutor_teaching())
    client = client_for(make_user())
    for url in (REFUNDS, f"{REFUNDS}/{refund.pk}"):
        response = client.get(url)
        assert (response.status_code, response.json()["code"]) == (403, "permission_denied")


def test_a_tutor_cannot_decide_a_refund_on_own_lesson(client_for):
    tutor = tutor_teaching()
    refund = refund_on(tutor)
    response = client_for(tutor).post(f"/api/v1/wallet/refund-requests/{refund.pk}/approve")
    assert response.status_code == 403
    refund.refresh_from_db()
    assert refund.status == "pending"


@pytest.mark.parametrize("count", [2, 12])
def test_the_list_costs_one_query_whatever_its_length(client_for, django_assert_num_queries, settings, count):
    settings.CACHALOT_ENABLED = False
    tutor = tutor_teaching()
    for _ in range(count):
        refund_on(tutor)
    client = client_for(tutor)
    client.get(REFUNDS)  # the token's identity is cached
    with django_assert_num_queries(1):
        assert len(client.get(REFUNDS).json()["results"]) == count
