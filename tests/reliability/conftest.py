"""Live-system fixtures: the production topology (nginx, granian with two workers, two daphne
processes, a real Celery worker, a throwaway Redis) against this test run's PostgreSQL database."""

import shutil
from urllib.parse import quote

import pytest
from django.conf import settings
from django.urls import NoReverseMatch, reverse

from reliability.live import LiveSystem
from reliability.workload import BANK_ENV, LIVE_ENV


def live_database_url() -> tuple[str, str, str]:
    """(url of the test database, admin url, test database name)."""
    db = settings.DATABASES["default"]
    auth = quote(db["USER"] or "postgres") + (f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else "")
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{auth}@{host}/{db['NAME']}", f"postgres://{auth}@{host}/postgres", db["NAME"]


def require_live() -> None:
    if not settings.USING_POSTGRES or not settings.REDIS_URL:
        pytest.skip("needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL)")
    if shutil.which("nginx") is None or shutil.which("redis-server") is None:
        pytest.skip("needs nginx and redis-server: run `make system-deps`")


def routes_exist(*names: str) -> bool:
    try:
        for name in names:
            reverse(name)
    except NoReverseMatch:
        return False
    return True


def _live_system(env: dict):
    require_live()
    url, _, _ = live_database_url()
    system = LiveSystem(url, extra_env=env).start()
    yield system
    system.stop()


@pytest.fixture
def live_system(transactional_db):
    """A live system per test (the test database is flushed after each test)."""
    yield from _live_system(LIVE_ENV)


@pytest.fixture
def bank_system(transactional_db):
    """A live system whose payment provider is slow and loses answers (BANK_ENV), per test."""
    yield from _live_system(BANK_ENV)
