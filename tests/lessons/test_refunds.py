from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.admin.sites import site
from django.db import connections
from django.test import RequestFactory
from django.utils import timezone
from django.utils.html import escape

from earnings import services as earnings
from earnings.models import Earning, EarningStatus
from tests.accounts.factories import StudentFactory
from tests.ledger.factories import funded_wallet
from tests.lessons.factories import book, completed_lesson, tutor_teaching
from wemaster.ledger import services as ledger
from wemaster.ledger.models import Account, AccountKind, Entry, Transfer, TransferKind
from wemaster.ledger.reconcile import find_discrepancies
from wemaster.lessons import services
from wemaster.lessons.errors import ConflictOfInterest, RefundAlreadyDecided
from wemaster.lessons.models import RefundRequest, RefundStatus

USD = settings.CURRENCY


@pytest.fixture
def staff(db):
    return StudentFactory(is_staff=True)


def account(kind, owner=None):
    if owner is None:
        return ledger.platform_account(kind=kind, currency=USD)
    return ledger.account_for(kind=kind, currency=USD, owner=owner)


def completed(student=None, tutor=None):
    student = student or StudentFactory()
    tutor = tutor or tutor_teaching(hourly_rate=4000)
    funded_wallet(student, 10_000)
    return completed_lesson(student=student, tutor=tutor)


@pytest.mark.django_db
def test_student_requests_a_refund_for_an_own_completed_lesson_once(client_for):
    lesson = completed()
    client = client_for(lesson.student)
    response = client.post("/api/v1/wallet/refund-requests", {"lesson": lesson.pk, "reason": "Tutor never showed up"})
    assert response.status_code == 201, response.json()
    assert (response.json()["status"], response.json()["amount"]) == ("pending", "40.00")
    again = client.post("/api/v1/wallet/refund-requests", {"lesson": lesson.pk, "reason": "again"})
    assert (again.status_code, again.json()["code"]) == (409, "refund_already_requested")
    blank = client.post("/api/v1/wallet/refund-requests", {"lesson": lesson.pk, "reason": "  "})
    assert blank.status_code == 400
    assert [row["id"] for row in client.get("/api/v1/wallet/refund-requests").json()["results"]] == [
        response.json()["id"]
    ]


@pytest.mark.django_db
def test_refunds_only_for_own_completed_lessons(client_for):
    lesson = completed()
    stranger = StudentFactory()
    response = client_for(stranger).post("/api/v1/wallet/refund-requests", {"lesson": lesson.pk, "reason": "x"})
    assert response.status_code == 404
    student = StudentFactory()
    funded_wallet(student, 10_000)
    booked = book(student=student, tutor=tutor_teaching())
    response = client_for(student).post("/api/v1/wallet/refund-requests", {"lesson": booked.pk, "reason": "x"})
    assert (response.status_code, response.json()["code"]) == (409, "refund_not_allowed")


@pytest.mark.django_db
def test_someone_elses_refund_request_is_404_and_students_cannot_decide(client_for):
    lesson = completed()
    refund = services.refund_request_create(student=lesson.student, lesson_id=lesson.pk, reason="no show")
    stranger = client_for(StudentFactory())
    assert stranger.get(f"/api/v1/wallet/refund-requests/{refund.pk}").status_code == 404
    assert stranger.get("/api/v1/wallet/refund-requests").json()["results"] == []
    owner = client_for(lesson.student)
    assert owner.get(f"/api/v1/wallet/refund-requests/{refund.pk}").status_code == 200
    assert owner.post(f"/api/v1/wallet/refund-requests/{refund.pk}/approve").status_code == 403


@pytest.mark.django_db
def test_approval_of_a_pending_earning_reverses_the_charge_once(client_for, staff):
    lesson = completed()
    wallet = account(AccountKind.STUDENT_WALLET, lesson.student)
    refund = services.refund_request_create(student=lesson.student, lesson_id=lesson.pk, reason="no show")
    client = client_for(staff)
    assert client.get("/api/v1/wallet/refund-requests").json()["results"][0]["id"] == refund.pk
    response = client.post(f"/api/v1/wallet/refund-requests/{refund.pk}/approve")
    assert (response.status_code, response.json()["status"]) == (200, "approved")
    again = client.post(f"/api/v1/wallet/refund-requests/{refund.pk}/approve")
    assert (again.status_code, again.json()["code"]) == (409, "refund_already_decided")
    reject = client.post(f"/api/v1/wallet/refund-requests/{refund.pk}/reject")
    assert reject.status_code == 409
    wallet.refresh_from_db()
    assert wallet.balance == 10_000
    assert account(AccountKind.TUTOR_PENDING, lesson.tutor).balance == 0
    assert account(AccountKind.PLATFORM_REVENUE).balance == 0
    assert Transfer.objects.filter(kind=TransferKind.REFUND).count() == 1
    assert Earning.objects.get(lesson_id=lesson.pk).status == EarningStatus.REFUNDED
    assert find_discrepancies() == []


@pytest.mark.django_db
def test_rejection_moves_nothing(client_for, staff):
    lesson = completed()
    refund = services.refund_request_create(student=lesson.student, lesson_id=lesson.pk, reason="meh")
    entries = Entry.objects.count()
    response = client_for(staff).post(f"/api/v1/wallet/refund-requests/{refund.pk}/reject")
    assert (response.status_code, response.json()["status"]) == (200, "rejected")
    assert Entry.objects.count() == entries
    assert client_for(staff).post(f"/api/v1/wallet/refund-requests/{refund.pk}/approve").status_code == 409
    assert Earning.objects.get(lesson_id=lesson.pk).status == EarningStatus.PENDING


@pytest.mark.django_db
def test_after_clearance_and_a_withdrawal_what_the_tutor_took_goes_on_the_receivable(staff):
    lesson = completed()
    earnings.earnings_clear_due(now=timezone.now() + timedelta(days=settings.EARNINGS_CLEARANCE_DAYS, seconds=1))
    available = account(AccountKind.TUTOR_AVAILABLE, lesson.tutor)
    assert available.balance == 3_000
    method = earnings.payout_method_add(tutor=lesson.tutor, token="btok_ok")
    earnings.withdrawal_request(
        tutor=lesson.tutor, amount=2_500, payout_method_id=method.pk
    )  # leaves available at once
    external_before = account(AccountKind.EXTERNAL_FUNDING).balance
    refund = services.refund_request_create(student=lesson.student, lesson_id=lesson.pk, reason="no show")
    refund = services.refund_request_approve(refund_request_id=refund.pk, staff=staff)
    assert (refund.commission_returned, refund.tutor_recovered, refund.platform_covered) == (1_000, 500, 2_500)
    assert account(AccountKind.TUTOR_AVAILABLE, lesson.tutor).balance == 0
    assert account(AccountKind.TUTOR_RECEIVABLE, lesson.tutor).balance == -2_500
    assert account(AccountKind.EXTERNAL_FUNDING).balance == external_before  # no new platform money
    assert account(AccountKind.STUDENT_WALLET, lesson.student).balance == 10_000
    legs = dict(Entry.objects.filter(transfer__kind=TransferKind.REFUND).values_list("account__kind", "amount"))
    assert legs == {
        AccountKind.STUDENT_WALLET: 4_000,
        AccountKind.PLATFORM_REVENUE: -1_000,
        AccountKind.TUTOR_AVAILABLE: -500,
        AccountKind.TUTOR_RECEIVABLE: -2_500,
    }
    assert find_discrepancies() == []


@pytest.mark.django_db
def test_admin_actions_call_the_same_services(staff):
    first, second = completed(), completed()
    refunds = [
        services.refund_request_create(student=lesson.student, lesson_id=lesson.pk, reason="x")
        for lesson in (first, second)
    ]
    model_admin = site._registry[RefundRequest]
    request = RequestFactory().post("/admin/")
    request.user = staff
    request._messages = type("Messages", (), {"add": lambda *args, **kwargs: None})()
    model_admin.approve(request, RefundRequest.objects.filter(pk=refunds[0].pk))
    model_admin.reject(request, RefundRequest.objects.filter(pk=refunds[1].pk))
    model_admin.approve(request, RefundRequest.objects.all())  # both decided: nothing moves
    statuses = dict(RefundRequest.objects.values_list("pk", "status"))
    assert statuses == {refunds[0].pk: RefundStatus.APPROVED, refunds[1].pk: RefundStatus.REJECTED}
    assert Transfer.objects.filter(kind=TransferKind.REFUND).count() == 1


def staff_in_the_lesson(role: str):
    """A pending refund request whose lesson has a staff member as its `role` (student or tutor)."""
    if role == "student":
        lesson = completed(student=StudentFactory(is_staff=True))
        insider = lesson.student
    else:
        lesson = completed()
        insider = lesson.tutor
        insider.is_staff = True
        insider.save(update_fields=["is_staff"])
    refund = services.refund_request_create(student=lesson.student, lesson_id=lesson.pk, reason="no show")
    return refund, insider


def money_snapshot() -> tuple:
    return Entry.objects.count(), sorted(Account.objects.values_list("id", "balance", "held"))


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["student", "tutor"])
@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_staff_cannot_decide_a_refund_of_their_own_lesson_through_the_api(client_for, role, decision):
    refund, insider = staff_in_the_lesson(role)
    before = money_snapshot()
    response = client_for(insider).post(f"/api/v1/wallet/refund-requests/{refund.pk}/{decision}")
    assert (response.status_code, response.json()["code"]) == (403, "conflict_of_interest")
    refund.refresh_from_db()
    assert (refund.status, refund.decided_by, refund.decided_at) == (RefundStatus.PENDING, None, None)
    assert money_snapshot() == before
    assert Earning.objects.get(lesson_id=refund.lesson_id).status == EarningStatus.PENDING


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["student", "tutor"])
def test_the_service_refuses_an_insider_whoever_calls_it(role):
    refund, insider = staff_in_the_lesson(role)
    for decide in (services.refund_request_approve, services.refund_request_reject):
        with pytest.raises(ConflictOfInterest):
            decide(refund_request_id=refund.pk, staff=insider)
    assert RefundRequest.objects.get(pk=refund.pk).status == RefundStatus.PENDING


class RecordedMessages:
    def __init__(self):
        self.texts = []

    def add(self, level, message, extra_tags=""):
        self.texts.append(str(message))


def admin_request(user):
    request = RequestFactory().post("/admin/")
    request.user = user
    request._messages = RecordedMessages()
    return request


@pytest.mark.django_db
def test_admin_action_refuses_an_insider_and_another_staff_member_decides_on_record(staff):
    refund, insider = staff_in_the_lesson("student")
    model_admin = site._registry[RefundRequest]
    before = money_snapshot()
    request = admin_request(insider)
    model_admin.approve(request, RefundRequest.objects.filter(pk=refund.pk))
    assert request._messages.texts == [
        f"Refund request {refund.pk}: Staff cannot decide a case in which they are the student or the tutor.",
        "0 refund request(s) approved.",
    ]
    assert money_snapshot() == before
    assert RefundRequest.objects.get(pk=refund.pk).status == RefundStatus.PENDING

    model_admin.approve(admin_request(staff), RefundRequest.objects.filter(pk=refund.pk))
    refund.refresh_from_db()
    assert (refund.status, refund.decided_by) == (RefundStatus.APPROVED, staff)
    assert refund.decided_at is not None
    assert find_discrepancies() == []


@pytest.mark.django_db
def test_admin_lists_who_decided(client):
    lesson = completed()
    refund = services.refund_request_create(student=lesson.student, lesson_id=lesson.pk, reason="no show")
    decider = StudentFactory(is_staff=True, is_superuser=True, display_name="Dana Decider")
    services.refund_request_reject(refund_request_id=refund.pk, staff=decider)
    client.force_login(decider)
    listing = client.get("/admin/lessons/refundrequest/").content.decode()
    assert escape(str(decider)) in listing and escape(str(lesson.tutor)) in listing
    page = client.get(f"/admin/lessons/refundrequest/{refund.pk}/change/").content.decode()
    assert escape(str(decider)) in page


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_approvals_move_the_money_once():
    staff = StudentFactory(is_staff=True)
    lesson = completed()
    refund = services.refund_request_create(student=lesson.student, lesson_id=lesson.pk, reason="x")

    def approve(_):
        try:
            services.refund_request_approve(refund_request_id=refund.pk, staff=staff)
            return "approved"
        except RefundAlreadyDecided:
            return "conflict"
        finally:
            connections.close_all()

    with ThreadPoolExecutor(8) as pool:
        outcomes = sorted(pool.map(approve, range(8)))
    assert outcomes == ["approved"] + ["conflict"] * 7
    assert Transfer.objects.filter(kind=TransferKind.REFUND).count() == 1
    assert account(AccountKind.STUDENT_WALLET, lesson.student).balance == 10_000
    assert find_discrepancies() == []
