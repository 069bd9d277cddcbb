"""Shared fixtures. Tests run on PostgreSQL + Redis when DATABASE_URL/REDIS_URL are set
(CI always), otherwise on SQLite and the in-process cache with service-only tests skipped."""

import tempfile
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from rest_framework.test import APIClient

from tests.accounts.factories import StudentFactory, TutorFactory, token_for
from wemaster.celery import app as celery_app


def pytest_report_header(config):
    return [
        f"database: {settings.DATABASES['default']['ENGINE']}",
        f"cache: {settings.CACHES['default']['BACKEND']}",
        f"channel layer: {settings.CHANNEL_LAYERS['default']['BACKEND']}",
    ]


def pytest_runtest_setup(item):
    if item.get_closest_marker("postgres") and not settings.USING_POSTGRES:
        pytest.skip("needs PostgreSQL: set DATABASE_URL (CI does)")
    if item.get_closest_marker("redis") and not settings.REDIS_CONFIGURED:
        pytest.skip("needs Redis: set REDIS_URL or REDIS_SENTINELS (CI sets REDIS_URL)")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clean_cache():
    """Every test starts with empty caches (throttle counters, the per-process memory
    level, tag memo and circuit breakers included)."""
    from django.core.cache import caches

    from wemaster.core.cache import reset_process_state

    for cache in caches.all():
        cache.clear()
    reset_process_state()
    yield


@pytest.fixture(autouse=True)
def _warm_feature_flags(request, _clean_cache, django_db_blocker):
    """Production decides flags from a warm table (loaded once per change, wemaster/flags), so the
    query counts of tests that use the database are measured with it warm again after
    `_clean_cache`; tests/core/test_feature_flags.py measures the cold load itself."""
    if not _uses_database(request):
        return
    from wemaster.flags.selectors import flag_table

    request.getfixturevalue("django_db_setup")
    with django_db_blocker.unblock():
        flag_table()


def _uses_database(request) -> bool:
    names = set(request.fixturenames)
    return request.node.get_closest_marker("django_db") is not None or bool(
        names & {"db", "transactional_db", "django_db_reset_sequences", "live_server"}
    )


@pytest.fixture(autouse=True)
def _celery_eager():
    """Tasks run inline unless a test starts a real worker (see tests that use `celery_worker`)."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


# On SQLite the sandbox provider keeps its record in a file of its own: one per test run.
settings.PAYMENT_SANDBOX_SQLITE_PATH = Path(tempfile.mkdtemp(prefix="wemaster-sandbox-")) / "provider.sqlite3"


@pytest.fixture(scope="session", autouse=True)
def _payment_provider_connections(django_db_setup):
    """The sandbox's own connections are closed before the test database is dropped."""
    from wemaster.core.payments.sandbox import STORE

    yield
    STORE.close_all()


@pytest.fixture(autouse=True)
def _payment_provider():
    """The sandbox provider's record outlives our rollbacks, as a real provider's does (it is
    written through a connection of its own), so each test starts with an empty one and no
    injected faults. On PostgreSQL only once the test database is in use, never the real one."""
    from wemaster.core.payments.sandbox import STORE, SandboxGateway

    SandboxGateway.clear_injected()
    if not settings.USING_POSTGRES or connections["default"].settings_dict["NAME"].startswith("test_"):
        STORE.reset()
    yield


@pytest.fixture
def provider():
    """The sandbox provider's record, read the way `gateway_report` reads it."""
    from wemaster.core.payments import get_gateway

    return get_gateway()


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def client_for():
    """`client_for(user)` -> an APIClient authenticated with the user's token."""

    tokens: dict[int, str] = {}  # one device per user and test: a token per call would evict the first

    def make(user):
        if user.pk not in tokens:
            tokens[user.pk] = token_for(user)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {tokens[user.pk]}")
        return client

    return make


@pytest.fixture
def student(db):
    return StudentFactory()


@pytest.fixture
def tutor(db):
    return TutorFactory()


@pytest.fixture
def unused_tcp_port():
    """A local port nothing listens on (bound, read, released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
