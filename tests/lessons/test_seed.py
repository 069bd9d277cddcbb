import pytest

from wemaster.accounts.seed import DEMO_DOMAIN
from wemaster.accounts.seed import seed_demo as seed_accounts
from wemaster.ledger.reconcile import find_discrepancies
from wemaster.lessons.models import RefundRequest, RefundStatus
from wemaster.lessons.seed import seed_demo as seed_lessons
from wemaster.scheduling.seed import seed_demo as seed_availability


def no_progress(iterable, **kwargs):
    return iterable


@pytest.mark.django_db
def test_demo_lessons_include_a_refund_decided_on_record_and_one_pending_once():
    for _ in range(2):
        seed_accounts(scale=1, progress=no_progress)
        seed_availability(scale=1, progress=no_progress)
        seed_lessons(scale=1, progress=no_progress)
    decided = RefundRequest.objects.select_related("decided_by").get(status=RefundStatus.APPROVED)
    assert decided.decided_by.email == f"admin@{DEMO_DOMAIN}" and decided.decided_at is not None
    assert decided.tutor_recovered + decided.platform_covered + decided.commission_returned == decided.amount
    assert RefundRequest.objects.filter(status=RefundStatus.PENDING).count() == 1
    assert find_discrepancies() == []
