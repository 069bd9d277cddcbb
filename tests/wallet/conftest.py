import pytest

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
