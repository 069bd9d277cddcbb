from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from earnings import services
from earnings.models import IN_FLIGHT, EarningKind, Withdrawal
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
    """Settle an in-flight withdrawal as the bank's rejection does (the real settlement service:
    what the tutor owes is repaid before anything reaches available)."""
    withdrawal = Withdrawal.objects.get(pk=withdrawal_id)
    assert withdrawal.status in IN_FLIGHT
    outcome = services.withdrawal_settle(
        withdrawal_id=withdrawal_id, provider_key=withdrawal.provider_key, rejection=reason
    )
    assert outcome == services.PayoutOutcome.FAILED
    withdrawal.refresh_from_db()
    return withdrawal


def balance(tutor, kind) -> int:
    return services.tutor_account(tutor_id=tutor.id, kind=kind).balance


@pytest.fixture
def funded_tutor(db):
    """A tutor with 100.00 available."""
    tutor = tutor_teaching()
    fund_available(tutor, 10_000)
    return tutor
