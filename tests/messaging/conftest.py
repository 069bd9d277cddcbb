import pytest

from tests.accounts.factories import StudentFactory, TutorFactory


@pytest.fixture
def alice(db):
    return StudentFactory(display_name="Alice")


@pytest.fixture
def bob(db):
    return TutorFactory(display_name="Bob")


@pytest.fixture
def carol(db):
    return StudentFactory(display_name="Carol")


@pytest.fixture
def no_rate_limits(settings):
    settings.RATE_LIMITS_ENABLED = False
