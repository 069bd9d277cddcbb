import pytest

from tests.accounts.factories import StudentFactory
from tests.ledger.factories import funded_wallet
from tests.lessons.factories import tutor_teaching


@pytest.fixture
def pair():
    """A student with 1,000.00 in their wallet and a tutor teaching the default subject."""
    student, tutor = StudentFactory(), tutor_teaching()
    funded_wallet(student, 100_000)
    return student, tutor
