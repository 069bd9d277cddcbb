from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from earnings import services
from earnings.models import Earning, EarningStatus
from tests.accounts.factories import StudentFactory
from tests.earnings.conftest import balance
from tests.ledger.factories import funded_wallet
from tests.lessons.factories import completed_lesson, tutor_teaching
from wemaster.ledger.models import AccountKind, Transfer, TransferKind
from wemaster.ledger.reconcile import find_discrepancies


@pytest.mark.django_db
def test_clearance_moves_due_earnings_in_batches_once():
    student, tutor = StudentFactory(), tutor_teaching(hourly_rate=100)
    funded_wallet(student, 10_000)
    now = timezone.now()
    for hour in range(5):
        starts_at = now - timedelta(days=11, hours=hour)
        completed_lesson(student=student, tutor=tutor, starts_at=starts_at, at=now - timedelta(days=10))
    completed_lesson(student=student, tutor=tutor, at=now)  # not due yet
    assert services.earnings_clear_due(now=now, batch_size=2) == 5
    assert services.earnings_clear_due(now=now, batch_size=2) == 0
    statuses = sorted(Earning.objects.values_list("status", flat=True))
    assert statuses == [EarningStatus.AVAILABLE] * 5 + [EarningStatus.PENDING]
    assert Transfer.objects.filter(kind=TransferKind.EARNING_CLEARANCE).count() == 5
    assert (balance(tutor, AccountKind.TUTOR_PENDING), balance(tutor, AccountKind.TUTOR_AVAILABLE)) == (75, 375)
    assert find_discrepancies() == []


@pytest.mark.django_db
def test_a_status_that_lagged_behind_its_transfer_is_repaired_without_moving_money_twice():
    student, tutor = StudentFactory(), tutor_teaching()
    funded_wallet(student, 10_000)
    completed_lesson(student=student, tutor=tutor)
    due = timezone.now() + timedelta(days=settings.EARNINGS_CLEARANCE_DAYS, seconds=1)
    services.earnings_clear_due(now=due)
    Earning.objects.update(status=EarningStatus.PENDING, cleared_at=None)  # as if the status write was lost
    assert any("pending" in problem for problem in find_discrepancies())
    assert services.earnings_clear_due(now=due) == 1
    assert Transfer.objects.filter(kind=TransferKind.EARNING_CLEARANCE).count() == 1
    assert find_discrepancies() == []
