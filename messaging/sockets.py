"""The open websockets of each user, across ASGI processes: what caps them per user.

Each user's sockets are one Redis sorted set of channel names scored by connect time. A
socket registers on connect; when the user then holds more than
`MESSAGING_WS_MAX_SOCKETS_PER_USER`, the oldest are removed and returned for the caller to
close (`socket.evicted` on their channel, whichever process holds them). A process that died
without unregistering leaves entries that are the oldest, so they are evicted first. The set
expires unless a socket of the user refreshes it (`sockets_keep_alive`, from the idle watch).

Redis is the default cache's (the same server as the channel layer). Without Redis (the
in-process development cache), or while it is unreachable, sockets are not counted: the cap
fails open rather than refusing chat.
"""

import logging
import time

from django.conf import settings
from django.core.cache import caches
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# Any Redis failure, a demoted master's ReadOnlyError during a failover included.
_REDIS_ERRORS = (RedisError, ConnectionError, TimeoutError)


def _ttl() -> int:
    # The idle watch of every open socket wakes at least once per idle timeout.
    return 3 * settings.MESSAGING_WS_IDLE_TIMEOUT


def _on_redis(call, *, default, context: dict):
    """`call(redis, key_of)` where `key_of(user_id)` names a user's socket set; `default`
    without Redis or when it fails."""
    cache = caches["default"]
    client = getattr(cache, "client", None)
    if not hasattr(client, "get_client"):  # the in-process cache: nothing to count across processes
        return default
    try:
        return call(client.get_client(write=True), lambda user_id: cache.make_key(f"messaging:ws-sockets:{user_id}"))
    except _REDIS_ERRORS as exc:
        logger.warning("websocket count skipped: redis unavailable", extra={**context, "error": repr(exc)})
        return default


def _on_user_set(user_id: int, call, *, default):
    """`call(redis, key)` on the user's socket set; `default` without Redis or when it fails."""
    return _on_redis(lambda redis, key_of: call(redis, key_of(user_id)), default=default, context={"user_id": user_id})


def _register(redis, key, channel_name: str) -> list[str]:
    keep = settings.MESSAGING_WS_MAX_SOCKETS_PER_USER
    pipe = redis.pipeline(transaction=True)
    pipe.zadd(key, {channel_name: time.time()})
    pipe.expire(key, _ttl())
    pipe.zrange(key, 0, -(keep + 1))  # all but the newest `keep`
    pipe.zremrangebyrank(key, 0, -(keep + 1))
    return [name.decode() for name in pipe.execute()[2]]


def socket_register(*, user_id: int, channel_name: str) -> list[str]:
    """Count a new socket of `user_id`; returns the channels of the user's sockets over the cap,
    oldest first (already removed from the count)."""
    return _on_user_set(user_id, lambda redis, key: _register(redis, key, channel_name), default=[])


def socket_unregister(*, user_id: int, channel_name: str) -> None:
    _on_user_set(user_id, lambda redis, key: redis.zrem(key, channel_name), default=None)


def sockets_keep_alive(*, user_id: int) -> None:
    _on_user_set(user_id, lambda redis, key: redis.expire(key, _ttl()), default=None)


def socket_count(*, user_id: int) -> int:
    """How many sockets of `user_id` are counted (0 without Redis)."""
    return _on_user_set(user_id, lambda redis, key: redis.zcard(key), default=0)


def users_with_open_sockets(user_ids) -> set[int]:
    """Which of `user_ids` have a counted socket, in one round trip (none without Redis: who
    cannot be seen online is treated as offline)."""
    ids = sorted(set(user_ids))
    if not ids:
        return set()

    def counted(redis, key_of) -> set[int]:
        pipe = redis.pipeline(transaction=False)
        for user_id in ids:
            pipe.zcard(key_of(user_id))
        return {user_id for user_id, count in zip(ids, pipe.execute(), strict=True) if count}

    return _on_redis(counted, default=set(), context={"users": len(ids)})
