"""The tutor receivable: what a tutor owes after a refund of money already withdrawn, repaid first by
the next money on its way to available (issue 13, refunds during a payout)."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from earnings import services
from earnings.models import Earning, EarningStatus
from tests.accounts.factories import StudentFactory
from tests.earnings.conftest import balance
from tests.ledger.factories import funded_wallet
from tests.lessons.factories import completed_lesson, past, tutor_teaching
from wemaster.ledger.models import AccountKind, Entry, TransferKind
from wemaster.ledger.reconcile import find_discrepancies
from wemaster.lessons import services as lessons

AVAILABLE, RECEIVABLE = AccountKind.TUTOR_AVAILABLE, AccountKind.TUTOR_RECEIVABLE


def due():
    return timezone.now() + timedelta(days=settings.EARNINGS_CLEARANCE_DAYS, seconds=1)


@pytest.fixture
def staff(db):
    return StudentFactory(is_staff=True)


def indebted_tutor(staff):
    """A tutor (40.00/h, 25 % commission) who withdrew a lesson's 30.00 net, paid out, after which
    the lesson was refunded: the tutor owes 30.00. Returns (student, tutor)."""
    student, tutor = StudentFactory(), tutor_teaching(hourly_rate=4000)
    funded_wallet(student, 100_000)
    lesson = completed_lesson(student=student, tutor=tutor)
    services.earnings_clear_due(now=due())
    method = services.payout_method_add(tutor=tutor, token="btok_ok")
    withdrawal = services.withdrawal_request(tutor=tutor, amount=3_000, payout_method_id=method.pk)
    assert services.withdrawal_pay_out(withdrawal_id=withdrawal.pk) == services.PayoutOutcome.PAID
    refund = lessons.refund_request_create(student=student, lesson_id=lesson.pk, reason="no show")
    refund = lessons.refund_request_approve(refund_request_id=refund.pk, staff=staff)
    assert (refund.tutor_recovered, refund.platform_covered) == (0, 3_000)
    return student, tutor


def legs_of(tutor, **kwargs) -> dict:
    with transaction.atomic():
        legs = services.tutor_credit_legs(tutor_id=tutor.id, currency=settings.CURRENCY, **kwargs)
    kinds = {services.tutor_account(tutor_id=tutor.id, kind=kind).id: kind for kind in (AVAILABLE, RECEIVABLE)}
    return {kinds[leg.account_id]: leg.amount for leg in legs}


@pytest.mark.django_db
def test_credit_legs_repay_what_the_tutor_owes_before_anything_reaches_available(staff):
    _, tutor = indebted_tutor(staff)
    assert balance(tutor, RECEIVABLE) == -3_000
    assert legs_of(tutor, amount=1_000) == {RECEIVABLE: 1_000}
    assert legs_of(tutor, amount=3_000) == {RECEIVABLE: 3_000}
    assert legs_of(tutor, amount=5_000) == {RECEIVABLE: 3_000, AVAILABLE: 2_000}
    assert legs_of(tutor_teaching(), amount=700) == {AVAILABLE: 700}
    with pytest.raises(ValueError):
        legs_of(tutor, amount=0)


@pytest.mark.django_db
def test_clearance_repays_the_receivable_first_and_the_tutor_sees_what_is_owed(
    staff, client_for, django_capture_on_commit_callbacks
):
    student, tutor = indebted_tutor(staff)
    client = client_for(tutor)
    overview = client.get("/api/v1/earnings/overview").json()
    assert (overview["available"], overview["owed"], overview["paid_out"]) == ("0.00", "30.00", "30.00")
    completed_lesson(student=student, tutor=tutor, starts_at=past(72), duration_minutes=90)  # net 45.00
    with django_capture_on_commit_callbacks(execute=True):
        assert services.earnings_clear_due(now=due()) == 1
    clearance = Entry.objects.filter(transfer__kind=TransferKind.EARNING_CLEARANCE).order_by("-transfer_id")
    latest = clearance.first().transfer_id
    legs = dict(clearance.filter(transfer_id=latest).values_list("account__kind", "amount"))
    assert legs == {AccountKind.TUTOR_PENDING: -4_500, RECEIVABLE: 3_000, AVAILABLE: 1_500}
    overview = client.get("/api/v1/earnings/overview").json()
    assert (overview["pending"], overview["available"], overview["owed"]) == ("0.00", "15.00", "0.00")
    assert find_discrepancies() == []


@pytest.mark.django_db
def test_transactions_show_the_refunded_earning(staff, client_for):
    _, tutor = indebted_tutor(staff)
    refunded = Earning.objects.get(tutor=tutor)
    rows = client_for(tutor).get("/api/v1/earnings/transactions?status=refunded").json()["results"]
    assert [(row["id"], row["status"], row["net"]) for row in rows] == [(refunded.pk, EarningStatus.REFUNDED, "30.00")]
    assert rows[0]["refunded_at"] is not None and rows[0]["cleared_at"] is not None


@pytest.mark.django_db
def test_admin_lists_receivable_accounts_with_what_is_owed(staff, client):
    indebted_tutor(staff)
    client.force_login(StudentFactory(is_staff=True, is_superuser=True))
    page = client.get("/admin/ledger/account/", {"kind": RECEIVABLE}).content.decode()
    assert "Tutor receivable (owed to the platform)" in page and "-30.00 USD" in page
