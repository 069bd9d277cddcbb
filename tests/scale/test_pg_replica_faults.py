"""Replica lag, stop and freeze on a real primary/replica pair: reads fall back to the primary
within the timeout, nothing answers 5xx, /readyz and /metrics say what happened, and reads
return to the replica once the background probe sees it healthy again."""

import time
from functools import partial

import pytest
from django.db import close_old_connections
from rest_framework.test import APIClient

from tests.scale.pg_flows import (
    REPLICA,
    percentile,
    primary_reads,
    register,
    replica_reads,
    replica_usable,
    timed,
    wait_replica_usable,
    wait_until,
)
from wemaster.core.replica_monitor import monitor

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("scale_site")]


@pytest.fixture
def site(pair, settings):
    """A reader, a post to read, and the replica in use."""
    settings.RATE_LIMITS_ENABLED = False
    author = register("tutor")
    post = author.client().post("/api/v1/community/posts", {"title": "Read me", "body": "x"}).json()
    reader = register()
    pair.wait_caught_up()
    wait_replica_usable()
    return {"post": post["id"], "reader": reader, "author": author}


def mixed_reads(site) -> list:
    """Uncached reads a replica serves: an anonymous post detail, a signed-in reader's profile
    and conversations, the tutor directory's second page path."""
    anonymous, reader = APIClient(), site["reader"].client()
    return [
        lambda: anonymous.get(f"/api/v1/community/posts/{site['post']}"),
        lambda: reader.get("/api/v1/me"),
        lambda: reader.get("/api/v1/conversations"),
        lambda: anonymous.get(f"/api/v1/community/posts/{site['post']}/comments?page_size=5"),
    ]


def request(call):
    """One request, ending as a web worker's does: Django's test client keeps the thread's
    connections across requests, a worker hands them back to their pools."""
    try:
        return call()
    finally:
        close_old_connections()


def run_reads(site, count: int) -> list[float]:
    """`count` reads round the mix; every answer below 500; returns each one's seconds."""
    calls = mixed_reads(site)
    latencies = []
    for index in range(count):
        seconds, response = timed(partial(request, calls[index % len(calls)]))
        assert response.status_code < 500, response.content
        latencies.append(seconds)
    return latencies


def replica_report() -> dict:
    response = APIClient().get("/readyz")
    assert response.status_code == 200, response.content
    return response.json()


def test_reads_use_the_replica_when_it_is_healthy(site):
    before = replica_reads()
    run_reads(site, 8)
    assert replica_reads() >= before + 8
    body = replica_report()
    assert body["status"] == "ready"
    assert body["replicas"][REPLICA]["up"] is True and body["replicas"][REPLICA]["usable"] is True


def test_a_lagging_replica_is_skipped_within_max_lag_and_used_again_after(pair, site, settings, scale_figures):
    settings.DATABASE_REPLICA_MAX_LAG = 1.0
    pair.pause()
    paused = time.monotonic()
    site["author"].client().post("/api/v1/community/posts", {"title": "Moves the primary", "body": "x"})
    skipped_after = wait_until(lambda: not replica_usable(), timeout=10, what="replica skipped for lag")
    before = primary_reads("lag")
    run_reads(site, 4)
    assert primary_reads("lag") >= before + 4
    body = replica_report()
    assert body["status"] == "degraded" and body["replicas"][REPLICA]["lag_seconds"] >= 1.0
    scale_figures["lag_skipped_after_pause_s"] = round(time.monotonic() - paused, 3)
    scale_figures["lag_skipped_after_write_s"] = round(skipped_after, 3)
    pair.resume()
    back_after = wait_replica_usable()
    scale_figures["lag_back_after_resume_s"] = round(back_after, 3)
    before = replica_reads()
    run_reads(site, 4)
    assert replica_reads() > before


def test_a_stopped_replica_costs_at_most_about_a_second_and_no_5xx(pair, site, scale_figures):
    run_reads(site, 8)  # the replica's pool holds connections
    pair.stop_replica()
    latencies = run_reads(site, 40)
    assert max(latencies) <= 1.3, latencies
    scale_figures["stopped_max_stall_s"] = round(max(latencies), 3)
    scale_figures["stopped_p50_s"] = round(percentile(latencies, 0.5), 3)
    body = replica_report()
    assert body["status"] == "degraded" and body["replicas"][REPLICA]["up"] is False
    metrics_text = APIClient().get("/metrics").content.decode()
    assert f'wemaster_db_replica_up{{alias="{REPLICA}"}} 0.0' in metrics_text
    assert 'wemaster_db_primary_reads_total{reason="down"}' in metrics_text
    pair.start_replica()
    scale_figures["stopped_back_after_start_s"] = round(wait_replica_usable(), 3)
    reads, fallbacks = replica_reads(), primary_reads("down")
    run_reads(site, 8)
    assert replica_reads() > reads
    assert primary_reads("down") == fallbacks  # the restart's dead pooled connections were replaced first


def test_a_frozen_replica_falls_back_within_the_timeout_and_recovers(pair, site, settings, scale_figures):
    run_reads(site, 8)
    pair.freeze()
    latencies = run_reads(site, 40)
    timeout = settings.DATABASE_REPLICA_TIMEOUT
    assert max(latencies) <= timeout + 0.3, latencies
    assert sorted(latencies)[-2] < 0.5 * timeout, latencies  # one read paid the timeout; then it was down
    scale_figures["frozen_max_stall_s"] = round(max(latencies), 3)
    scale_figures["frozen_p50_s"] = round(percentile(latencies, 0.5), 3)
    assert monitor.state(REPLICA).up is False
    assert replica_report()["status"] == "degraded"
    pair.thaw()
    scale_figures["frozen_back_after_thaw_s"] = round(wait_replica_usable(), 3)
    assert replica_report()["replicas"][REPLICA]["up"] is True
    reads, fallbacks = replica_reads(), primary_reads("down")
    run_reads(site, 8)
    assert replica_reads() > reads
    assert primary_reads("down") == fallbacks


@pytest.mark.scale_full
@pytest.mark.parametrize("fault", ["stop", "freeze"])
def test_p99_stall_under_a_fault_with_concurrent_readers(pair, site, settings, fault, scale_figures):
    """Four reader threads read the mix until 3 s after the fault, injected once the replica
    has served them; latencies counted from the fault on."""
    import threading

    from django.db import connections

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    faulted = threading.Event()
    stop_at = [float("inf")]

    def reader():
        calls = mixed_reads(site)
        index = 0
        try:
            while time.monotonic() < stop_at[0]:
                seconds, response = timed(partial(request, calls[index % len(calls)]))
                index += 1
                if response.status_code >= 500:
                    errors.append(f"{response.status_code} {response.content[:200]}")
                if faulted.is_set():
                    with lock:
                        latencies.append(seconds)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=reader) for _ in range(4)]
    before = replica_reads()
    for thread in threads:
        thread.start()
    wait_until(lambda: replica_reads() >= before + 20, timeout=20, what="readers on the replica")
    pair.stop_replica() if fault == "stop" else pair.freeze()
    faulted.set()
    stop_at[0] = time.monotonic() + 3.0
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors[:3]
    p99 = percentile(latencies, 0.99)
    scale_figures[f"{fault}_concurrent_reads"] = len(latencies)
    scale_figures[f"{fault}_concurrent_p99_s"] = round(p99, 3)
    scale_figures[f"{fault}_concurrent_max_s"] = round(max(latencies), 3)
    # Each reader in flight on the replica when it froze waits its own timeout, then the primary
    # answers (the four threads share two cores); every later read goes straight to the primary.
    timeout = settings.DATABASE_REPLICA_TIMEOUT
    assert max(latencies) <= timeout + 1.0, sorted(latencies)[-5:]
    assert sum(seconds >= 0.9 * timeout for seconds in latencies) <= len(threads), sorted(latencies)[-8:]
