from datetime import timedelta

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from earnings import services
from earnings.models import IN_FLIGHT, EarningKind, Withdrawal, WithdrawalStatus
from tests.earnings.factories import EarningFactory
from tests.lessons.factories import tutor_teaching
from wemaster.ledger import services as ledger
from wemaster.ledger.models import AccountKind, TransferKind


def fund_available(tutor, amount: int):
    """Give a tutor `amount` of available earnings the way the platform does: an earning of exactly
    `amount` net (a late-cancellation fee: no commission, no lesson needed) credited to tutor
    pending and then cleared. Reconcile holds: a tutor's accounts add up to the earnings."""
    earned_at = timezone.now() - timedelta(days=settings.EARNINGS_CLEARANCE_DAYS, seconds=1)
    earning = EarningFactory(
        tutor=tutor,
        kind=EarningKind.CANCELLATION_FEE,
        minutes=0,
        gross=amount,
        commission_percent=0,
        earned_at=earned_at,
    )
    external = ledger.platform_account(kind=AccountKind.EXTERNAL_FUNDING, currency=settings.CURRENCY)
    pending = services.tutor_account(tutor_id=tutor.id, kind=AccountKind.TUTOR_PENDING)
    ledger.transfer(
        kind=TransferKind.LESSON_CANCELLATION_FEE,
        reference=f"test-earning:{earning.pk}",
        currency=settings.CURRENCY,
        legs=[ledger.Leg(external.id, -amount), ledger.Leg(pending.id, amount)],
    )
    services.earnings_clear_due(now=timezone.now())


def fail_payout(withdrawal_id: int, *, reason: str = "The bank rejected the payout.") -> Withdrawal:
    """Settle an in-flight withdrawal as rejected by the bank the way the payout reversal must:
    under the withdrawal's row lock, its amount leaves payout clearing through
    `tutor_credit_legs`, so what the tutor owes is repaid before anything reaches available."""
    with transaction.atomic():
        withdrawal = Withdrawal.objects.select_for_update().get(pk=withdrawal_id)
        assert withdrawal.status in IN_FLIGHT
        clearing = services.tutor_account(tutor_id=withdrawal.tutor_id, kind=AccountKind.PAYOUT_CLEARING)
        credits = services.tutor_credit_legs(
            tutor_id=withdrawal.tutor_id,
            currency=withdrawal.currency,
            amount=withdrawal.amount,
            lock_with=[clearing.id],
        )
        ledger.transfer(
            kind=TransferKind.PAYOUT_REVERSAL,
            reference=withdrawal.gateway_key,
            currency=withdrawal.currency,
            legs=[ledger.Leg(clearing.id, -withdrawal.amount), *credits],
        )
        withdrawal.status = WithdrawalStatus.FAILED
        withdrawal.failure_reason = reason
        withdrawal.save(update_fields=["status", "failure_reason", "updated_at"])
    return withdrawal


def balance(tutor, kind) -> int:
    return services.tutor_account(tutor_id=tutor.id, kind=kind).balance


@pytest.fixture
def funded_tutor(db):
    """A tutor with 100.00 available."""
    tutor = tutor_teaching()
    fund_available(tutor, 10_000)
    return tutor
