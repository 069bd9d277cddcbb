"""Payouts delivered by a real Celery worker over the Redis broker (not eager)."""

import time

import pytest
from celery.contrib.testing.worker import start_worker

from earnings import services
from earnings.models import Withdrawal, WithdrawalStatus
from tests.earnings.conftest import balance, fund_available
from tests.lessons.factories import tutor_teaching
from wemaster.celery import app as celery_app
from wemaster.ledger.models import AccountKind
from wemaster.ledger.reconcile import find_discrepancies


def wait_for(predicate, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_pays_out_retrying_transient_failures(settings, provider):
    settings.EARNINGS_PAYOUT_RETRY_BACKOFF_SECONDS = 0
    celery_app.conf.task_always_eager = False
    tutor = tutor_teaching()
    fund_available(tutor, 10_000)
    method = services.payout_method_add(tutor=tutor, token="btok_flaky")
    with start_worker(celery_app, perform_ping_check=False, pool="solo", shutdown_timeout=10):
        withdrawal = services.withdrawal_request(tutor=tutor, amount=4_000, payout_method_id=method.pk)
        assert wait_for(lambda: Withdrawal.objects.get(pk=withdrawal.pk).status == WithdrawalStatus.PAID)
    withdrawal.refresh_from_db()
    assert withdrawal.attempts == 3
    (call,) = provider.records()
    assert (call.key, call.attempts, call.succeeded) == (withdrawal.provider_key, 3, True)
    assert (balance(tutor, AccountKind.TUTOR_AVAILABLE), balance(tutor, AccountKind.PAYOUT_CLEARING)) == (6_000, 0)
    assert find_discrepancies() == []
