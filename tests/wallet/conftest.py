import pytest

from tests.accounts.factories import StudentFactory
from tests.wallet.factories import wallet_for


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    """Wallet tests call endpoints many times; the throttle test turns limits back on."""
    settings.RATE_LIMITS_ENABLED = False


@pytest.fixture
def wallet(student):
    return wallet_for(student)


@pytest.fixture
def student_client(client_for, student):
    return client_for(student)


@pytest.fixture
def staff_client(client):
    """Django's test client logged into admin as a superuser."""
    client.force_login(StudentFactory(is_staff=True, is_superuser=True))
    return client
