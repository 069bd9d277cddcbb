"""A payout task that was lost (broker restart, task died on a dropped database connection) is
queued again by the beat sweeper, and paying twice is impossible (issue #9's fault runs)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from earnings import services
from earnings.models import WithdrawalStatus
from tests.earnings.conftest import fund_available
from tests.lessons.factories import tutor_teaching
from wemaster.core.payments import get_gateway
from wemaster.ledger.reconcile import find_discrepancies


def lost_withdrawal(tutor, django_capture_on_commit_callbacks):
    """A withdrawal whose payout task never ran: its on-commit enqueue is dropped."""
    method = services.payout_method_add(tutor=tutor, token="btok_ok")
    with django_capture_on_commit_callbacks(execute=False):
        return services.withdrawal_request(tutor=tutor, amount=5_000, payout_method_id=method.pk)


@pytest.mark.django_db
def test_stuck_withdrawal_is_paid_once_after_requeue(django_capture_on_commit_callbacks, settings):
    settings.EARNINGS_PAYOUT_REQUEUE_AFTER_SECONDS = 60
    tutor = tutor_teaching()
    fund_available(tutor, 10_000)
    withdrawal = lost_withdrawal(tutor, django_capture_on_commit_callbacks)
    assert services.withdrawals_requeue_stuck() == 0  # too recent: its task may still be queued

    later = timezone.now() + timedelta(seconds=61)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.withdrawals_requeue_stuck(now=later) == 1
    withdrawal.refresh_from_db()
    assert withdrawal.status == WithdrawalStatus.PAID
    assert services.withdrawals_requeue_stuck(now=later) == 0
    assert [(call.key, call.succeeded) for call in get_gateway().records()] == [(withdrawal.provider_key, True)]
    assert find_discrepancies() == []
