"""The scale topology the tests start themselves (README, "Scale-out on one machine").

PostgreSQL half: one primary + streaming replica pair per run of this package (`pg_pair.py`),
the project's schema migrated into it, and `scale_site`: Django in this process pointed at
the pair (`default` = the primary, `replica_0` = the replica through the replica backend),
with Redis and the channel layer as configured for the rest of the suite. Tests marked
`scale_full` (long or repetitive) run only with SCALE_FULL=1 (`make scale-test`).
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from django.test.utils import override_settings

from tests.scale.pg_pair import PgPair, missing_binaries

ROOT = Path(__file__).resolve().parents[2]
SCALE_FULL = os.environ.get("SCALE_FULL") == "1"
REPLICA = "replica_0"


def pytest_runtest_setup(item):
    if item.get_closest_marker("scale_full") and not SCALE_FULL:
        pytest.skip("scale_full: runs under `make scale-test` (SCALE_FULL=1)")


def migrate(url: str) -> None:
    """The project's migrations into `url`, in a process of its own (no Redis touched)."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_REPLICA_URLS", "REDIS_URL"}}
    env.update(DATABASE_URL=url, DJANGO_SETTINGS_MODULE="wemaster.settings")
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        raise RuntimeError(f"migrate failed: {result.stdout}{result.stderr}")


@pytest.fixture(scope="package")
def pg_pair():
    reason = missing_binaries()
    if reason:
        pytest.skip(reason)
    if not settings.USING_POSTGRES:
        pytest.skip("needs PostgreSQL: set DATABASE_URL (CI does)")
    # Not under pytest's temporary root: that is private to this user, and the servers run as postgres.
    pair = PgPair(Path(tempfile.mkdtemp(prefix="wemaster-pg-pair-")))
    started = time.monotonic()
    try:
        pair.start(migrate)
    except BaseException:
        pair.close()
        raise
    pair.setup_seconds = time.monotonic() - started
    yield pair
    pair.close()


def _release_connections() -> None:
    """Close every connection and pool of the aliases about to change, in every thread we own."""
    from wemaster.core.payments.sandbox import STORE

    STORE.close_all()
    for alias in list(connections.settings):
        if alias == "default" or alias == REPLICA:
            connection = connections[alias]
            connection.close()
            if connection.pool is not None:
                connection.close_pool()


@pytest.fixture(scope="package")
def scale_site(pg_pair, django_db_blocker):
    """Django in this process on the pair, for the tests of this package only; the suite's own
    test database is restored afterwards."""
    from wemaster.core.replica_monitor import monitor
    from wemaster.settings import database_settings

    configured = connections.configure_settings(
        {
            "default": database_settings(pg_pair.primary.url()),
            REPLICA: database_settings(pg_pair.replica.url(), replica=True),
        }
    )
    for config in configured.values():
        config["OPTIONS"]["pool"].update(min_size=1, max_size=8)
    default = connections.settings["default"]
    saved = dict(default)
    overrides = override_settings(DATABASE_REPLICA_ALIASES=[REPLICA])
    with django_db_blocker.unblock():
        monitor.stop()
        _release_connections()
        default.clear()
        default.update(configured["default"])
        connections.settings[REPLICA] = configured[REPLICA]
        overrides.enable()
        try:
            yield pg_pair
        finally:
            monitor.stop()
            _release_connections()
            overrides.disable()
            del connections.settings[REPLICA]
            try:
                del connections[REPLICA]
            except AttributeError:
                pass  # never used in this thread
            default.clear()
            default.update(saved)


@pytest.fixture
def pair(scale_site):
    """The pair, healed after the test whatever fault it injected."""
    yield scale_site
    scale_site.heal()


@pytest.fixture(scope="package")
def scale_figures(pg_pair):
    """Figures the tests measure, written to test-artifacts/scale/pg-figures.json at the end
    (docs/RELIABILITY.md, Scale-out, quotes them)."""
    figures = {"pair_setup_s": round(pg_pair.setup_seconds, 2)}
    yield figures
    out = ROOT / "test-artifacts" / "scale"
    out.mkdir(parents=True, exist_ok=True)
    (out / "pg-figures.json").write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
