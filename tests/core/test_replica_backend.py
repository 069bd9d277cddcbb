"""The replica backend: bounded waits, and reads the primary answers when the replica cannot.

The "replica" here is a second connection to the test database through the replica backend
(no pool), so a test can break it: point it at a closed port, terminate its backend, cancel
its statement. A frozen server is simulated by waiting for an answer never asked for.
"""

import copy
import time

import psycopg
import pytest
from django.db import connections
from psycopg.generators import notifies

from wemaster.core import metrics
from wemaster.core.replica_backend.base import DatabaseWrapper
from wemaster.core.replica_backend.deadline import DeadlineConnection, ReplicaTimeout
from wemaster.core.replica_monitor import ReplicaState, monitor

ALIAS = "replica_unit"

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def fresh_monitor(settings, monkeypatch):
    settings.DATABASE_REPLICA_ALIASES = [ALIAS]
    monkeypatch.setattr(monitor, "ensure_running", lambda: None)
    monitor.stop()
    monitor.publish(
        ReplicaState(alias=ALIAS, up=True, replay_lsn=0, lag=0.0, measured_at=time.monotonic()),
        started=time.monotonic(),
    )
    yield
    monitor.stop()


@pytest.fixture
def replica():
    """A replica-backend wrapper on the test database, without a pool."""
    settings_dict = copy.deepcopy(connections["default"].settings_dict)
    settings_dict["OPTIONS"].pop("pool", None)
    wrapper = DatabaseWrapper(settings_dict, alias=ALIAS)
    yield wrapper
    wrapper.close()


def reason_count(reason: str) -> float:
    return metrics.primary_reads.labels(reason)._value.get()


def test_a_wait_for_a_silent_server_ends_at_the_timeout(settings):
    settings.DATABASE_REPLICA_TIMEOUT = 0.3
    params = connections["default"].get_connection_params()
    for name in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(name, None)
    conn = DeadlineConnection.connect(**params, autocommit=True)
    started = time.monotonic()
    with pytest.raises(ReplicaTimeout):
        conn.wait(notifies(conn.pgconn))  # waits for data the server never sends, like a frozen one
    assert 0.25 <= time.monotonic() - started < 1.0
    assert conn.closed


def test_an_unreachable_replica_is_answered_by_the_primary(replica, unused_tcp_port):
    replica.settings_dict.update(HOST="127.0.0.1", PORT=unused_tcp_port)
    before = reason_count("down")
    with replica.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        assert cursor.fetchone()[0] == connections["default"].settings_dict["NAME"]
        assert cursor.db.alias == "default"
    assert reason_count("down") == before + 1
    assert monitor.state(ALIAS).up is False


def test_a_replica_connection_lost_mid_request_is_answered_by_the_primary(replica):
    with replica.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        replica_pid = cursor.fetchone()[0]
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [replica_pid])
    with replica.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != replica_pid
        assert cursor.db.alias == "default"
    assert monitor.state(ALIAS).up is False


def test_a_statement_the_replica_cancels_is_answered_by_the_primary_and_the_replica_stays_up(replica):
    with replica.cursor() as cursor:
        cursor.execute("SET statement_timeout = 50")
    before = reason_count("replica_error")
    with replica.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(0.2), 42")
        assert cursor.fetchone()[1] == 42
        assert cursor.db.alias == "default"
    assert reason_count("replica_error") == before + 1
    assert monitor.state(ALIAS).up is True


def test_errors_in_the_query_itself_are_not_retried(replica):
    with replica.cursor() as cursor, pytest.raises(Exception) as raised:
        cursor.execute("SELECT no_such_column FROM accounts_user")
    assert "no_such_column" in str(raised.value)
    assert isinstance(raised.value.__cause__, psycopg.errors.UndefinedColumn)
