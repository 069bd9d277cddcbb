"""Sentinels and Redis servers that require passwords: REDIS_PASSWORD and REDIS_SENTINEL_PASSWORD
reach every client the settings build (cache, channel layer, Celery broker)."""

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import caches
from kombu import Connection

from tests.scale.redis.environment import settings_from_environment
from tests.scale.redis_sentinel import sentinel_topology_or_skip
from wemaster.core.cache import reset_process_state


@pytest.fixture(scope="module")
def protected_topology():
    topology = sentinel_topology_or_skip(password="data-secret", sentinel_password="sentinel-secret")
    yield topology
    topology.stop()


def test_every_client_authenticates_to_the_sentinels_and_the_master(protected_topology, settings):
    configured = settings_from_environment(**protected_topology.environment())
    settings.CACHES = configured.CACHES
    settings.CHANNEL_LAYERS = configured.CHANNEL_LAYERS
    reset_process_state()

    cache = caches["default"]
    cache.set("scale:auth", "ok", timeout=30)
    assert cache.get("scale:auth") == "ok"
    assert cache.client.breaker.state == "closed"

    async def round_trip():
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "scale.auth"})
        return await layer.receive(channel)

    assert async_to_sync(round_trip)() == {"type": "scale.auth"}

    options = configured.CELERY_BROKER_TRANSPORT_OPTIONS
    with Connection(configured.CELERY_BROKER_URL, transport_options=options) as broker:
        queue = broker.SimpleQueue("scale-auth")
        queue.put({"n": 1})
        assert queue.get(timeout=5).payload == {"n": 1}
        queue.close()
    reset_process_state()
