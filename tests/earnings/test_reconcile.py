"""Per tutor, earnings, refunds, receivables and payouts add up (issue 13, `reconcile` sees the
boundary): pending + available + payout clearing + receivable == kept earnings - paid withdrawals."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from earnings import services
from earnings.models import Withdrawal, WithdrawalStatus
from earnings.reconcile import tutor_money_adds_up
from tests.accounts.factories import StudentFactory
from tests.earnings.conftest import balance, fail_payout, fund_available
from tests.ledger.factories import funded_wallet
from tests.lessons.factories import completed_lesson, past, tutor_teaching
from wemaster.ledger import services as ledger
from wemaster.ledger.models import AccountKind, TransferKind
from wemaster.ledger.reconcile import find_discrepancies
from wemaster.lessons import services as lessons

PENDING, AVAILABLE = AccountKind.TUTOR_PENDING, AccountKind.TUTOR_AVAILABLE
CLEARING, RECEIVABLE = AccountKind.PAYOUT_CLEARING, AccountKind.TUTOR_RECEIVABLE


def due():
    return timezone.now() + timedelta(days=settings.EARNINGS_CLEARANCE_DAYS, seconds=1)


def tutor_balances(tutor) -> tuple[int, int, int, int]:
    return tuple(balance(tutor, kind) for kind in (PENDING, AVAILABLE, CLEARING, RECEIVABLE))


class Flow:
    """One student and one tutor (40.00/h, 25 % commission: 30.00 net per one-hour lesson)."""

    def __init__(self):
        self.staff = StudentFactory(is_staff=True)
        self.student, self.tutor = StudentFactory(), tutor_teaching(hourly_rate=4000)
        funded_wallet(self.student, 100_000)
        self.slot = 48

    def lesson(self):
        self.slot += 2
        return completed_lesson(student=self.student, tutor=self.tutor, starts_at=past(self.slot))

    def refund(self, lesson):
        refund = lessons.refund_request_create(student=self.student, lesson_id=lesson.pk, reason="no show")
        return lessons.refund_request_approve(refund_request_id=refund.pk, staff=self.staff)

    def withdraw(self, amount: int, token: str = "btok_ok"):
        method = services.payout_method_add(tutor=self.tutor, token=token)
        return services.withdrawal_request(tutor=self.tutor, amount=amount, payout_method_id=method.pk)


@pytest.mark.django_db
def test_clean_after_earning_clearing_withdrawing_failing_and_refunding_at_every_stage():
    flow = Flow()
    first = flow.lesson()
    assert find_discrepancies() == []
    flow.refund(first)  # before clearance: from pending
    assert tutor_balances(flow.tutor) == (0, 0, 0, 0)
    assert find_discrepancies() == []

    second, third = flow.lesson(), flow.lesson()
    services.earnings_clear_due(now=due())
    assert tutor_balances(flow.tutor) == (0, 6_000, 0, 0)
    paid = flow.withdraw(2_000)
    assert services.withdrawal_pay_out(withdrawal_id=paid.pk) == services.PayoutOutcome.PAID
    assert find_discrepancies() == []
    rejected = flow.withdraw(2_000, token="btok_fail")  # nothing owed: all of it returns to available
    assert services.withdrawal_pay_out(withdrawal_id=rejected.pk) == services.PayoutOutcome.FAILED
    assert tutor_balances(flow.tutor) == (0, 4_000, 0, 0)
    assert find_discrepancies() == []

    in_flight = flow.withdraw(4_000)
    refund = flow.refund(second)  # during the payout: nothing left to take, all of it owed
    assert (refund.tutor_recovered, refund.platform_covered) == (0, 3_000)
    assert tutor_balances(flow.tutor) == (0, 0, 4_000, -3_000)
    assert find_discrepancies() == []
    fail_payout(in_flight.pk)  # the returned 40.00 repays the 30.00 owed first
    assert tutor_balances(flow.tutor) == (0, 1_000, 0, 0)
    assert find_discrepancies() == []

    refund = flow.refund(third)  # after clearance: 10.00 recovered, 20.00 owed
    assert (refund.tutor_recovered, refund.platform_covered) == (1_000, 2_000)
    assert tutor_balances(flow.tutor) == (0, 0, 0, -2_000)
    assert find_discrepancies() == []
    flow.lesson()
    services.earnings_clear_due(now=due())
    assert tutor_balances(flow.tutor) == (0, 1_000, 0, 0)
    assert find_discrepancies() == []
    # kept: the fourth lesson (30.00); paid out: 20.00; held: 10.00 available.
    assert sum(tutor_balances(flow.tutor)) == 3_000 - 2_000


@pytest.mark.django_db
def test_a_transfer_into_a_tutor_account_without_an_earning_is_named():
    flow = Flow()
    flow.lesson()
    fund_available(tutor_teaching(), 5_000)  # another tutor, through a real earning: clean
    assert tutor_money_adds_up() == []
    external = ledger.platform_account(kind=AccountKind.EXTERNAL_FUNDING, currency=settings.CURRENCY)
    available = services.tutor_account(tutor_id=flow.tutor.id, kind=AVAILABLE)
    ledger.transfer(
        kind=TransferKind.ADJUSTMENT,
        reference="planted",
        currency=settings.CURRENCY,
        legs=[ledger.Leg(external.id, -500), ledger.Leg(available.id, 500)],
    )
    assert tutor_money_adds_up() == [
        f"tutor {flow.tutor.id} (USD): pending + available + payout clearing + receivable = 3500"
        " != kept earnings 3000 - paid withdrawals 0 = 3000"
    ]
    assert any(problem.startswith("tutor_money_adds_up: ") for problem in find_discrepancies())


@pytest.mark.django_db
def test_a_failed_payout_returned_past_the_receivable_is_named():
    """What the payout reversal did before it repaid the receivable first: the money the refund
    was owed from came back to available, to be withdrawn again."""
    flow = Flow()
    lesson = flow.lesson()
    services.earnings_clear_due(now=due())
    withdrawal = flow.withdraw(3_000)
    flow.refund(lesson)
    clearing = services.tutor_account(tutor_id=flow.tutor.id, kind=CLEARING)
    available = services.tutor_account(tutor_id=flow.tutor.id, kind=AVAILABLE)
    ledger.transfer(
        kind=TransferKind.PAYOUT_REVERSAL,
        reference=withdrawal.gateway_key,
        currency=settings.CURRENCY,
        legs=[ledger.Leg(clearing.id, -3_000), ledger.Leg(available.id, 3_000)],
    )
    Withdrawal.objects.filter(pk=withdrawal.pk).update(status=WithdrawalStatus.FAILED)
    assert tutor_money_adds_up() == [
        f"tutor {flow.tutor.id} (USD) has 3000 available while owing 3000: a credit bypassed the receivable"
    ]


@pytest.mark.django_db
def test_a_withdrawal_marked_paid_without_its_payout_is_named():
    flow = Flow()
    flow.lesson()
    services.earnings_clear_due(now=due())
    withdrawal = flow.withdraw(2_000, token="btok_fail")
    services.withdrawal_pay_out(withdrawal_id=withdrawal.pk)
    Withdrawal.objects.filter(pk=withdrawal.pk).update(status=WithdrawalStatus.PAID)
    assert tutor_money_adds_up() == [
        f"tutor {flow.tutor.id} (USD): pending + available + payout clearing + receivable = 3000"
        " != kept earnings 3000 - paid withdrawals 2000 = 1000"
    ]


@pytest.mark.django_db
def test_the_check_costs_three_queries_however_many_tutors(django_assert_num_queries):
    for _ in range(4):
        flow = Flow()
        flow.lesson()
        fund_available(flow.tutor, 3_000)
        paid = flow.withdraw(2_500)
        services.withdrawal_pay_out(withdrawal_id=paid.pk)
    with django_assert_num_queries(3):
        assert tutor_money_adds_up() == []
