"""The Redis master dies (SIGKILL) under Sentinel: the cache, the channel layer and a Redis Celery
broker follow the sentinels to the promoted replica, and nobody gets a 500 meanwhile.

The cache, channel layer and Celery configuration are what the settings (`wemaster/settings/`)
compute from REDIS_SENTINELS / REDIS_SENTINEL_MASTER pointing at the module's topology (see
environment.py); requests go through Django's test client and the ASGI application, answered from PostgreSQL
while no master answers."""

import threading
import time

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from celery import Celery
from celery.contrib.testing.worker import start_worker
from channels.testing import WebsocketCommunicator
from django.core.cache import caches

from messaging.models import Message
from tests.accounts.factories import StudentFactory, TutorFactory, token_for
from tests.messaging.factories import direct_conversation
from tests.scale.redis.environment import celery_config, settings_from_environment
from tests.scale.redis_sentinel import DOWN_AFTER_MS, FAILOVER_TIMEOUT_MS
from wemaster.asgi import application
from wemaster.core.cache import get_or_compute, invalidate_tags, reset_process_state
from wemaster.core.cache import metrics as cache_metrics

# The sentinels promote the replica within this, even when their first leader election splits
# (each then waits 2 x failover-timeout before it tries again).
FAILOVER_BOUND = (DOWN_AFTER_MS + 3 * FAILOVER_TIMEOUT_MS) / 1000
TUTORS = "/api/v1/tutors"
ORIGIN = (b"origin", b"http://localhost")


@pytest.fixture
def on_sentinel(topology, settings):
    """This test's cache and channel layer: the settings computed with the topology's variables."""
    configured = settings_from_environment(**topology.environment())
    settings.CACHES = configured.CACHES
    settings.CHANNEL_LAYERS = configured.CHANNEL_LAYERS
    caches["default"].clear()
    reset_process_state()
    yield configured
    reset_process_state()


def epoch_bumps() -> float:
    return cache_metrics.epoch_bumps._value.get()


def ready_master(client) -> tuple[str, int]:
    """The Redis master /readyz reports (it answers 200)."""
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    host, port = response.json()["redis_master"].rsplit(":", 1)
    return host, int(port)


def cache_round_trip() -> bool:
    cache = caches["default"]
    cache.set("scale:probe", "ok", timeout=30)
    return cache.get("scale:probe") == "ok" and cache.client.breaker.state == "closed"


@pytest.mark.django_db
def test_requests_answer_200_through_a_master_kill_and_the_cache_comes_back(
    on_sentinel, topology, api_client, client_for, settings
):
    tutor = TutorFactory(display_name="Ada")
    student = client_for(StudentFactory())
    assert api_client.get(TUTORS).status_code == 200
    assert cache_round_trip()
    assert ready_master(api_client) == topology.master().address
    bound = FAILOVER_BOUND + settings.CACHE_BREAKER_COOLDOWN_SECONDS + 1

    killed = topology.kill_master()
    killed_at = time.monotonic()
    not_ready = api_client.get("/readyz")
    assert not_ready.status_code == 503 and "cache" in not_ready.json()["failing"], not_ready.content
    requests, failover_s, cache_back_s = 0, None, None
    while cache_back_s is None or requests < 40:
        tutors, me = api_client.get(TUTORS), student.get("/api/v1/me")
        requests += 2
        assert (tutors.status_code, me.status_code) == (200, 200), (tutors.content, me.content)
        assert [row["id"] for row in tutors.json()["results"]] == [tutor.id]
        if failover_s is None and topology.master_address() not in (None, killed.address):
            failover_s = time.monotonic() - killed_at
        if cache_back_s is None and cache_round_trip():
            cache_back_s = time.monotonic() - killed_at
        assert time.monotonic() - killed_at < bound, "the cache did not come back"
        time.sleep(0.05)
    print(
        f"\nsentinel failover {failover_s:.2f} s; the cache answers again {cache_back_s:.2f} s after the kill;"
        f" {requests} requests meanwhile, all 200"
    )
    assert failover_s is not None and failover_s < FAILOVER_BOUND
    # After the promotion the cache waits at most for its breaker's cool-down.
    assert cache_back_s - failover_s < settings.CACHE_BREAKER_COOLDOWN_SECONDS + 1
    assert caches["default"].client.get_client().connection_pool.known_master == topology.master_address()
    assert ready_master(api_client) == topology.master_address() != killed.address


@pytest.mark.django_db
def test_an_invalidation_the_failover_lost_does_not_bring_back_what_it_invalidated(
    on_sentinel, topology, django_capture_on_commit_callbacks
):
    """The master drops its replica's link (the replica is frozen so it cannot reconnect) and
    acknowledges a tag bump, then dies: the promoted replica never received the bump. No cache
    call fails in between (the breaker sees nothing); the change of master alone makes the next
    read a miss."""
    computed = []

    def profile():
        computed.append(len(computed) + 1)
        return f"version {len(computed)}"

    def read():
        return get_or_compute("scale:profile:1", profile, tags=["profile:1"], ttl=300)

    assert read() == "version 1"
    master, replica = topology.master(), topology.replica()
    tag_key = caches["default"].client.make_key("tagv:profile:1")
    master.client().wait(1, 2000)  # the entry and its tag version are on the replica
    replica.pause()
    master.client().client_kill_filter(_type="replica")
    with django_capture_on_commit_callbacks(execute=True):
        invalidate_tags("profile:1")  # acknowledged by the master alone
    acknowledged = master.client().get(tag_key)
    assert read() == "version 2"
    bumps_before = epoch_bumps()

    killed = topology.kill_master()
    replica.resume()
    seconds = topology.wait_for_failover(killed)
    assert topology.master() is replica
    assert replica.client().get(tag_key) != acknowledged  # the bump died with the old master
    assert read() == "version 3"  # recomputed: "version 1" is stored under the surviving tag version
    assert read() == "version 3"
    assert epoch_bumps() == bumps_before + 1
    print(f"\nfailover {seconds:.2f} s; the entry its lost invalidation covered was not served")


def token(user) -> str:
    return token_for(user)


@pytest.mark.django_db(transaction=True)
def test_chat_resumes_on_the_same_socket_after_a_failover(on_sentinel, topology, client_for):
    """Bob's websocket stays open through the failover; Alice's message sent while no master
    answered is stored (201) and reaches Bob with the next one, in order."""
    alice, bob = StudentFactory(display_name="Alice"), TutorFactory(display_name="Bob")
    chat = direct_conversation(alice, bob)
    bob_key = token(bob)
    url = f"/api/v1/conversations/{chat.id}/messages"

    def send(body: str) -> dict:
        response = client_for(alice).post(url, {"body": body})
        assert response.status_code == 201, response.content
        return response.json()

    async def scenario() -> dict:
        figures = {}
        bob_socket = WebsocketCommunicator(application, f"/ws/chat/?token={bob_key}", headers=[ORIGIN])
        assert (await bob_socket.connect(timeout=5))[0]
        before = await sync_to_async(send)("before")
        assert (await bob_socket.receive_json_from(timeout=5))["message"]["id"] == before["id"]

        killed = await sync_to_async(topology.kill_master)()
        killed_at = time.monotonic()
        during = await sync_to_async(send)("while no master answers")
        figures["failover"] = await sync_to_async(topology.wait_for_failover)(killed)
        after = await sync_to_async(send)("after")
        received = [await bob_socket.receive_json_from(timeout=10) for _ in range(2)]
        figures["chat_resumed"] = time.monotonic() - killed_at
        assert [frame["message"]["id"] for frame in received] == [during["id"], after["id"]]
        assert received[1]["event_id"] == received[0]["event_id"] + 1
        assert await bob_socket.receive_nothing(timeout=0.3)
        await bob_socket.disconnect()
        return figures

    figures = async_to_sync(scenario)()
    assert Message.objects.filter(conversation=chat).count() == 3
    print(f"\nfailover {figures['failover']:.2f} s; chat resumed {figures['chat_resumed']:.2f} s after the kill")


@pytest.mark.scale_full
def test_a_redis_broker_delivers_tasks_before_and_after_a_failover(on_sentinel, topology):
    app = Celery("wemaster_sentinel_broker_test")
    app.conf.update(celery_config(on_sentinel))
    assert app.conf.broker_url.startswith("sentinel://") and app.conf.task_always_eager is False
    delivered: list[int] = []
    arrived = threading.Event()

    @app.task(name="scale.record_delivery")
    def record_delivery(number: int) -> None:
        delivered.append(number)
        arrived.set()

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        record_delivery.delay(1)
        assert arrived.wait(10)
        arrived.clear()

        killed = topology.kill_master()
        killed_at = time.monotonic()
        failover_s = topology.wait_for_failover(killed)
        record_delivery.delay(2)
        assert arrived.wait(30)
        delivered_s = time.monotonic() - killed_at
    assert delivered == [1, 2]
    print(f"\nfailover {failover_s:.2f} s; a task sent after it was run {delivered_s:.2f} s after the kill")
