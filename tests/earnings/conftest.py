import itertools

import pytest
from django.conf import settings

from earnings import services
from tests.lessons.factories import tutor_teaching
from wemaster.ledger import services as ledger
from wemaster.ledger.models import AccountKind, TransferKind

_funding = itertools.count()


def fund_available(tutor, amount: int):
    """Credit a tutor's available earnings with a real ledger transfer (as clearance would)."""
    external = ledger.platform_account(kind=AccountKind.EXTERNAL_FUNDING, currency=settings.CURRENCY)
    available = services.tutor_account(tutor_id=tutor.id, kind=AccountKind.TUTOR_AVAILABLE)
    ledger.transfer(
        kind=TransferKind.ADJUSTMENT,
        reference=f"test-available:{tutor.id}:{next(_funding)}",
        currency=settings.CURRENCY,
        legs=[ledger.Leg(external.id, -amount), ledger.Leg(available.id, amount)],
    )


def balance(tutor, kind) -> int:
    return services.tutor_account(tutor_id=tutor.id, kind=kind).balance


@pytest.fixture
def funded_tutor(db):
    """A tutor with 100.00 available."""
    tutor = tutor_teaching()
    fund_available(tutor, 10_000)
    return tutor
