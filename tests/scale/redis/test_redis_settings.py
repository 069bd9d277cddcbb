"""Which cache, channel layer and Celery broker each combination of variables configures, and that
the libraries accept what the settings build (constructed here, nothing connects)."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django_redis.cache import RedisCache
from kombu import Connection
from redis.asyncio.sentinel import SentinelConnectionPool as AsyncSentinelPool

from tests.scale.redis.environment import settings_from_environment
from wemaster.core.cache.redis_client import BreakerClient, SentinelMasterPool
from wemaster.core.channel_layer import RedisChannelLayer

SENTINELS = "10.0.0.1:26379,10.0.0.2:26379,[::1]:26380"
SENTINEL_ADDRESSES = [("10.0.0.1", 26379), ("10.0.0.2", 26379), ("::1", 26380)]
AMQP = "amqp://wm:secret@mq.internal:5672/wemaster"


def cache_options(s) -> dict:
    return s.CACHES["default"]["OPTIONS"]


def channel_host(s) -> dict:
    (host,) = s.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"]
    return host


def assert_payouts_survive_a_dead_worker(s):
    assert s.CELERY_TASK_ACKS_LATE is True
    assert s.CELERY_TASK_REJECT_ON_WORKER_LOST is True
    assert s.CELERY_WORKER_PREFETCH_MULTIPLIER == 1


def test_no_variables_is_the_embedded_default_with_tasks_inline():
    s = settings_from_environment()
    assert s.CACHES["default"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    assert s.CHANNEL_LAYERS["default"]["BACKEND"] == "channels.layers.InMemoryChannelLayer"
    assert s.CELERY_BROKER_URL == "memory://"
    assert s.CELERY_TASK_ALWAYS_EAGER is True


def test_one_redis_server_serves_cache_channel_layer_and_broker():
    s = settings_from_environment(REDIS_URL="redis://cache.internal:6379/3")
    assert s.CACHES["default"]["LOCATION"] == "redis://cache.internal:6379/3"
    assert cache_options(s)["CLIENT_CLASS"] == "wemaster.core.cache.redis_client.BreakerClient"
    assert "SENTINELS" not in cache_options(s)
    assert s.CHANNEL_LAYERS["default"]["BACKEND"] == "wemaster.core.channel_layer.RedisChannelLayer"
    assert channel_host(s)["address"] == "redis://cache.internal:6379/3"
    assert s.CELERY_BROKER_URL == "redis://cache.internal:6379/3"
    assert "master_name" not in s.CELERY_BROKER_TRANSPORT_OPTIONS
    assert s.CELERY_TASK_ALWAYS_EAGER is False
    assert_payouts_survive_a_dead_worker(s)


def test_sentinel_serves_cache_channel_layer_and_broker_from_the_master():
    s = settings_from_environment(
        REDIS_SENTINELS=SENTINELS,
        REDIS_SENTINEL_MASTER="wemaster",
        REDIS_SENTINEL_DB="2",
        REDIS_PASSWORD="p@ss/word",
        REDIS_SENTINEL_PASSWORD="sentinel-secret",
    )
    sentinel_kwargs = {"socket_connect_timeout": 0.25, "socket_timeout": 0.25, "password": "sentinel-secret"}
    assert s.REDIS_URL == "" and s.REDIS_CONFIGURED is True

    assert s.CACHES["default"]["LOCATION"] == "redis://wemaster/2"
    options = cache_options(s)
    assert options["CLIENT_CLASS"] == "wemaster.core.cache.redis_client.BreakerClient"
    assert options["CONNECTION_FACTORY"] == "django_redis.pool.SentinelConnectionFactory"
    assert options["CONNECTION_POOL_CLASS"] == "wemaster.core.cache.redis_client.SentinelMasterPool"
    assert options["SENTINELS"] == SENTINEL_ADDRESSES
    assert options["SENTINEL_KWARGS"] == sentinel_kwargs
    assert options["PASSWORD"] == "p@ss/word"

    host = channel_host(s)
    assert "address" not in host
    assert (host["sentinels"], host["master_name"], host["db"]) == (SENTINEL_ADDRESSES, "wemaster", 2)
    assert (host["password"], host["sentinel_kwargs"]) == ("p@ss/word", sentinel_kwargs)

    assert s.CELERY_BROKER_URL == (
        "sentinel://:p%40ss%2Fword@10.0.0.1:26379/2;sentinel://:p%40ss%2Fword@10.0.0.2:26379/2;"
        "sentinel://:p%40ss%2Fword@[::1]:26380/2"
    )
    assert s.CELERY_BROKER_TRANSPORT_OPTIONS["master_name"] == "wemaster"
    assert s.CELERY_BROKER_TRANSPORT_OPTIONS["sentinel_kwargs"] == sentinel_kwargs
    assert s.CELERY_TASK_ALWAYS_EAGER is False
    assert_payouts_survive_a_dead_worker(s)


def test_the_libraries_accept_the_sentinel_configuration():
    s = settings_from_environment(REDIS_SENTINELS=SENTINELS, REDIS_SENTINEL_MASTER="wemaster", REDIS_SENTINEL_DB="2")
    params = s.CACHES["default"]
    cache = RedisCache(params["LOCATION"], params)
    assert isinstance(cache.client, BreakerClient)
    assert cache.client.breaker.name == "redis-sentinel:wemaster/2"
    pool = cache.client.connection_factory.get_or_create_connection_pool(
        cache.client.connection_factory.make_connection_params(params["LOCATION"])
    )
    assert isinstance(pool, SentinelMasterPool)
    assert (pool.service_name, pool.connection_kwargs["db"]) == ("wemaster", 2)

    layer = RedisChannelLayer(**s.CHANNEL_LAYERS["default"]["CONFIG"])
    channel_pool = layer.create_pool(0)
    assert isinstance(channel_pool, AsyncSentinelPool) and channel_pool.service_name == "wemaster"
    sentinels = channel_pool.sentinel_manager.sentinels
    assert [
        (one.connection_pool.connection_kwargs["host"], one.connection_pool.connection_kwargs["port"])
        for one in sentinels
    ] == SENTINEL_ADDRESSES

    broker = Connection(s.CELERY_BROKER_URL, transport_options=s.CELERY_BROKER_TRANSPORT_OPTIONS)
    assert broker.transport_cls == "sentinel"
    assert len(broker.alt) == 3


def test_rabbitmq_alone_is_a_broker_so_tasks_are_not_run_inline():
    s = settings_from_environment(CELERY_BROKER_URL=AMQP)
    assert s.CELERY_BROKER_URL == AMQP
    assert s.CELERY_TASK_ALWAYS_EAGER is False
    assert s.CACHES["default"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    assert_payouts_survive_a_dead_worker(s)


def test_rabbitmq_with_sentinel_keeps_the_broker_and_no_sentinel_options():
    s = settings_from_environment(CELERY_BROKER_URL=AMQP, REDIS_SENTINELS=SENTINELS)
    assert s.CELERY_BROKER_URL == AMQP
    assert "master_name" not in s.CELERY_BROKER_TRANSPORT_OPTIONS
    assert cache_options(s)["SENTINELS"] == SENTINEL_ADDRESSES
    assert s.CELERY_TASK_ALWAYS_EAGER is False


@pytest.mark.parametrize(
    ("variables", "eager"),
    [
        ({"CELERY_BROKER_URL": AMQP, "CELERY_TASK_ALWAYS_EAGER": "on"}, True),
        ({"REDIS_SENTINELS": SENTINELS, "CELERY_TASK_ALWAYS_EAGER": "on"}, True),
        ({"CELERY_TASK_ALWAYS_EAGER": "off"}, False),
    ],
)
def test_celery_task_always_eager_still_decides_when_set(variables, eager):
    assert settings_from_environment(**variables).CELERY_TASK_ALWAYS_EAGER is eager


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"REDIS_URL": "redis://r/0", "REDIS_SENTINELS": SENTINELS}, "not both"),
        ({"REDIS_SENTINELS": "10.0.0.1"}, "want host:port"),
        ({"REDIS_SENTINELS": SENTINELS, "REDIS_SENTINEL_MASTER": "MyMaster"}, "lower-case"),
    ],
)
def test_contradictory_or_malformed_redis_variables_are_refused(variables, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        settings_from_environment(**variables)
