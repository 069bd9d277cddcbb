"""Issue 13, scenario 4: a refund approved while the tutor's withdrawal of that money is in flight.

What the tutor cannot repay at once goes on the tutor's receivable (never new platform money); a
failed payout's returned money and the next earnings that clear repay it before anything reaches
available, so the refunded money can never be withdrawn twice.
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connections
from django.utils import timezone

from earnings import services as earnings
from earnings.errors import InsufficientAvailableBalance
from earnings.models import Earning, EarningStatus, WithdrawalStatus
from tests.accounts.factories import StudentFactory
from tests.earnings.conftest import balance, fail_payout
from tests.ledger.factories import funded_wallet
from tests.lessons.factories import completed_lesson, past, tutor_teaching
from wemaster.ledger import services as ledger
from wemaster.ledger.models import AccountKind, Transfer, TransferKind
from wemaster.ledger.reconcile import find_discrepancies
from wemaster.lessons import services

USD = settings.CURRENCY
PENDING, AVAILABLE = AccountKind.TUTOR_PENDING, AccountKind.TUTOR_AVAILABLE
CLEARING, RECEIVABLE = AccountKind.PAYOUT_CLEARING, AccountKind.TUTOR_RECEIVABLE


def due():
    return timezone.now() + timedelta(days=settings.EARNINGS_CLEARANCE_DAYS, seconds=1)


def tutor_balances(tutor) -> tuple[int, int, int, int]:
    return tuple(balance(tutor, kind) for kind in (PENDING, AVAILABLE, CLEARING, RECEIVABLE))


def external_balance() -> int:
    return ledger.platform_account(kind=AccountKind.EXTERNAL_FUNDING, currency=USD).balance


def withdrawing_tutor(*, token: str = "btok_ok"):
    """A tutor (40.00/h, 25 %) whose lesson's 30.00 net cleared and is being withdrawn whole; the
    payout has not run yet. Returns (lesson, withdrawal, refund request of that lesson)."""
    student, tutor = StudentFactory(), tutor_teaching(hourly_rate=4000)
    funded_wallet(student, 10_000)
    lesson = completed_lesson(student=student, tutor=tutor)
    earnings.earnings_clear_due(now=due())
    method = earnings.payout_method_add(tutor=tutor, token=token)
    withdrawal = earnings.withdrawal_request(tutor=tutor, amount=3_000, payout_method_id=method.pk)
    refund = services.refund_request_create(student=student, lesson_id=lesson.pk, reason="The tutor never came")
    assert tutor_balances(tutor) == (0, 0, 3_000, 0)
    return lesson, withdrawal, refund


@pytest.fixture
def staff(db):
    return StudentFactory(is_staff=True)


@pytest.mark.django_db
def test_payout_failing_after_the_refund_repays_the_receivable_and_cannot_be_withdrawn_again(staff, client_for):
    lesson, withdrawal, refund = withdrawing_tutor(token="btok_fail")
    tutor, external_before = lesson.tutor, external_balance()
    refund = services.refund_request_approve(refund_request_id=refund.pk, staff=staff)
    assert (refund.commission_returned, refund.tutor_recovered, refund.platform_covered) == (1_000, 0, 3_000)
    assert tutor_balances(tutor) == (0, 0, 3_000, -3_000)
    assert balance(lesson.student, AccountKind.STUDENT_WALLET) == 10_000
    assert external_balance() == external_before  # the platform's cover is the receivable, not new money
    assert find_discrepancies() == []

    fail_payout(withdrawal.pk)
    withdrawal.refresh_from_db()
    assert withdrawal.status == WithdrawalStatus.FAILED
    assert tutor_balances(tutor) == (0, 0, 0, 0)  # the returned 30.00 repaid the 30.00 owed
    with pytest.raises(InsufficientAvailableBalance):
        earnings.withdrawal_request(tutor=tutor, amount=3_000, payout_method_id=withdrawal.payout_method_id)
    again = client_for(tutor).post(
        "/api/v1/earnings/withdrawals", {"amount": "30.00", "payout_method": withdrawal.payout_method_id}
    )
    assert (again.status_code, again.json()["code"]) == (400, "insufficient_available_balance")
    overview = client_for(tutor).get("/api/v1/earnings/overview").json()
    assert (overview["available"], overview["owed"], overview["paid_out"]) == ("0.00", "0.00", "0.00")
    assert external_balance() == external_before
    assert find_discrepancies() == []


@pytest.mark.django_db
def test_payout_paid_after_the_refund_leaves_the_debt_until_the_next_earnings_clear(staff, client_for):
    lesson, withdrawal, refund = withdrawing_tutor()
    tutor = lesson.tutor
    services.refund_request_approve(refund_request_id=refund.pk, staff=staff)
    assert earnings.withdrawal_pay_out(withdrawal_id=withdrawal.pk) == earnings.PayoutOutcome.PAID
    assert tutor_balances(tutor) == (0, 0, 0, -3_000)
    overview = client_for(tutor).get("/api/v1/earnings/overview").json()
    assert (overview["available"], overview["owed"], overview["paid_out"]) == ("0.00", "30.00", "30.00")
    assert find_discrepancies() == []

    funded_wallet(lesson.student, 10_000)
    completed_lesson(student=lesson.student, tutor=tutor, starts_at=past(72))  # another 30.00 net
    assert tutor_balances(tutor) == (3_000, 0, 0, -3_000)  # pending is not touched before it clears
    earnings.earnings_clear_due(now=due())
    assert tutor_balances(tutor) == (0, 0, 0, 0)
    assert find_discrepancies() == []


def run_together(*actions):
    """Run the actions at once, one thread each (each with its own connection); return their results."""
    barrier = threading.Barrier(len(actions))

    def run(action):
        barrier.wait()
        try:
            return action()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(len(actions)) as pool:
        return list(pool.map(run, actions))


def race_refund_and_clearance(*, refund_request_id: int, staff, first: str):
    """Approve the refund and run clearance in two threads, forcing which one locks the earning
    first while the other runs: "refund" pauses the approval holding the earning's lock until the
    clearance has run; "clearance" pauses the clearance holding it while the approval queues.
    Returns (approved refund request, earnings cleared)."""
    reached, release = threading.Event(), threading.Event()
    name, seconds = ("earning_refund_legs", 5) if first == "refund" else ("_clear", 0.5)
    original = getattr(earnings, name)

    def paused(*args, **kwargs):
        reached.set()
        release.wait(seconds)
        return original(*args, **kwargs)

    def approve():
        if first == "clearance":
            reached.wait(5)
        return services.refund_request_approve(refund_request_id=refund_request_id, staff=staff)

    def clear():
        if first == "refund":
            reached.wait(5)
        try:
            return earnings.earnings_clear_due(now=due())
        finally:
            release.set()

    setattr(earnings, name, paused)
    try:
        return run_together(approve, clear)
    finally:
        setattr(earnings, name, original)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("first", ["refund", "clearance"])
def test_concurrent_approval_and_clearance_of_one_earning_have_one_outcome_and_exact_money(monkeypatch, first):
    """A tutor who already owes 30.00 gets a lesson refunded while clearance moves its earning.
    Refund first: clearance skips the locked earning and the refund takes the net from pending.
    Clearance first: it repays the debt, and the refund, which waited, finds nothing available
    and owes the net again. Either way exactly 30.00 stays owed, every round."""
    monkeypatch.setattr(earnings, "_enqueue_payout", lambda withdrawal_id: None)  # payouts run below
    staff = StudentFactory(is_staff=True)
    lesson, withdrawal, refund = withdrawing_tutor()
    services.refund_request_approve(refund_request_id=refund.pk, staff=staff)
    earnings.withdrawal_pay_out(withdrawal_id=withdrawal.pk)
    tutor, student = lesson.tutor, lesson.student
    funded_wallet(student, 100_000)
    for round_ in range(3):
        racing = completed_lesson(student=student, tutor=tutor, starts_at=past(60 + 2 * round_))
        request = services.refund_request_create(student=student, lesson_id=racing.pk, reason="late")
        approved, cleared = race_refund_and_clearance(refund_request_id=request.pk, staff=staff, first=first)
        earning = Earning.objects.get(lesson_id=racing.pk)
        split = (approved.tutor_recovered, approved.platform_covered)
        clearances = Transfer.objects.filter(kind=TransferKind.EARNING_CLEARANCE, reference=f"earning:{earning.pk}")
        assert earning.status == EarningStatus.REFUNDED
        if first == "refund":
            assert (cleared, split, earning.cleared_at, clearances.count()) == (0, (3_000, 0), None, 0)
        else:
            assert (cleared, split, earning.cleared_at is not None, clearances.count()) == (1, (0, 3_000), True, 1)
        assert tutor_balances(tutor) == (0, 0, 0, -3_000)
        assert Transfer.objects.filter(kind=TransferKind.REFUND, reference=racing.charge_reference).count() == 1
    assert balance(student, AccountKind.STUDENT_WALLET) == 110_000  # every charge came back whole
    assert find_discrepancies() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_approval_and_failed_payout_return_nothing_withdrawable(monkeypatch):
    """Refund first: the returned money repays the receivable. Payout failure first: the refund
    takes the returned money from available. Either way the tutor ends with nothing and owes nothing."""
    monkeypatch.setattr(earnings, "_enqueue_payout", lambda withdrawal_id: None)  # the payout fails below
    staff = StudentFactory(is_staff=True)
    for _ in range(4):
        lesson, withdrawal, refund = withdrawing_tutor(token="btok_fail")
        approved, _ = run_together(
            lambda refund=refund: services.refund_request_approve(refund_request_id=refund.pk, staff=staff),
            lambda withdrawal=withdrawal: fail_payout(withdrawal.pk),
        )
        assert approved.tutor_recovered + approved.platform_covered == 3_000
        assert tutor_balances(lesson.tutor) == (0, 0, 0, 0)
        assert balance(lesson.student, AccountKind.STUDENT_WALLET) == 10_000
    assert find_discrepancies() == []
