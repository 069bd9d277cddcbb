"""The background replica probe: lag arithmetic, states, /readyz and /metrics payloads."""

import time

import pytest
from prometheus_client import generate_latest

from wemaster.core.replica_monitor import (
    PrimaryHistory,
    ReplicaState,
    format_lsn,
    monitor,
    parse_lsn,
    replay_lag,
    replica_for_read,
)

REPLICA = "replica_0"


@pytest.fixture(autouse=True)
def one_replica(settings, monkeypatch):
    settings.DATABASE_REPLICA_ALIASES = [REPLICA]
    settings.DATABASE_REPLICA_MAX_LAG = 1.0
    monkeypatch.setattr(monitor, "ensure_running", lambda: None)
    monitor.stop()
    yield
    monitor.stop()


def probed(*, up=True, lag=0.0, replay_lsn=1_000, age=0.0, error=None, started=None) -> None:
    now = time.monotonic()
    state = ReplicaState(alias=REPLICA, up=up, replay_lsn=replay_lsn, lag=lag, measured_at=now - age, error=error)
    monitor.publish(state, started=now if started is None else started)


def test_lsn_text_round_trips():
    assert parse_lsn("16/B374D848") == (0x16 << 32) | 0xB374D848
    assert format_lsn(parse_lsn("16/B374D848")) == "16/B374D848"
    assert parse_lsn(None) is None


def test_lag_is_zero_once_the_primarys_position_is_replayed():
    history = PrimaryHistory()
    assert replay_lag(now=10.0, primary_lsn=500, replay_lsn=500, replay_age=99.0, history=history) == 0.0


def test_lag_is_the_time_since_the_primary_was_where_the_replica_is():
    history = PrimaryHistory()
    for at, position in [(1.0, 100), (1.5, 100), (2.0, 300), (2.5, 400)]:
        history.add(at, position)
    # Replayed 100: the primary was still there at 1.5 s, so at 3.0 s the replica is <= 1.5 s behind.
    assert replay_lag(now=3.0, primary_lsn=400, replay_lsn=100, replay_age=None, history=history) == 1.5
    # The last replayed commit is younger than that: the tighter bound wins (an idle primary).
    assert replay_lag(now=3.0, primary_lsn=400, replay_lsn=100, replay_age=0.2, history=history) == 0.2


def test_lag_is_unknown_without_any_bound():
    history = PrimaryHistory()
    history.add(1.0, 500)
    assert replay_lag(now=1.1, primary_lsn=500, replay_lsn=100, replay_age=None, history=history) is None


def test_usable_replicas_and_why_the_primary_answers(settings):
    probed()
    assert replica_for_read([REPLICA], floor=0, preferred=None) == (REPLICA, "")
    assert replica_for_read([REPLICA], floor=1_001, preferred=None) == (None, "pinned_write")
    probed(lag=1.2)
    assert replica_for_read([REPLICA], floor=0, preferred=None) == (None, "lag")
    probed(up=False, lag=None, error="OperationalError: refused")
    assert replica_for_read([REPLICA], floor=0, preferred=None) == (None, "down")


def test_a_replica_marked_down_by_a_read_stays_down_until_a_later_probe():
    before_the_failure = time.monotonic()
    probed()
    monitor.mark_down(REPLICA, "OperationalError: connection lost")
    probed(started=before_the_failure)  # a probe that was already running proves nothing
    assert not monitor.state(REPLICA).up
    probed(started=time.monotonic() + 0.001)
    assert monitor.state(REPLICA).up


def test_metrics_export_replica_state_and_reasons():
    probed(lag=0.25)
    text = generate_latest().decode()
    assert f'wemaster_db_replica_up{{alias="{REPLICA}"}} 1.0' in text
    assert f'wemaster_db_replica_lag_seconds{{alias="{REPLICA}"}} 0.25' in text
    probed(up=False, lag=None, error="OperationalError: refused")
    text = generate_latest().decode()
    assert f'wemaster_db_replica_up{{alias="{REPLICA}"}} 0.0' in text
    assert "wemaster_db_primary_reads_total" in text and "wemaster_db_replica_reads_total" in text


@pytest.mark.django_db
def test_readyz_reports_replicas_and_stays_ready_when_only_they_degrade(api_client):
    probed(lag=0.1, replay_lsn=parse_lsn("0/3000060"))
    body = api_client.get("/readyz").json()
    assert body["status"] == "ready"
    assert body["replicas"][REPLICA] == {
        "up": True,
        "lag_seconds": 0.1,
        "replay_lsn": "0/3000060",
        "measured_seconds_ago": pytest.approx(0, abs=0.5),
        "usable": True,
    }
    probed(up=False, lag=None, error="ReplicaTimeout: no answer within 1.0 s")
    response = api_client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["replicas"][REPLICA]["up"] is False
    assert body["replicas"][REPLICA]["error"] == "ReplicaTimeout: no answer within 1.0 s"


@pytest.mark.django_db
def test_readyz_without_replicas_says_nothing_of_them(api_client, settings):
    settings.DATABASE_REPLICA_ALIASES = []
    assert "replicas" not in api_client.get("/readyz").json()
