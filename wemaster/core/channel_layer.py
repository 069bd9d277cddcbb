"""The channel layer of the services mode: channels-redis, with a `receive` that outlives Redis.

channels-redis lets a connection error escape `receive()`, which every consumer of the process
awaits in its dispatch loop: when the master dies (a Sentinel failover, a restart) every open
websocket's consumer crashed with it. Here `receive()` waits and tries again (0.1 s doubling up
to 1 s) until Redis answers, through Sentinel the new master, and the sockets stay open.

Events published while no master answered were not delivered live, but they are stored: the chat
consumer reads the gap from PostgreSQL when the next event arrives, and a client reconnecting
with `since` replays it (messaging/consumers.py). Sends (`group_send`, `group_add`) still raise;
their callers decide (messaging/events.py logs and counts a publication that failed).
"""

import asyncio
import logging
import time

from channels_redis.core import RedisChannelLayer as ChannelsRedisLayer
from prometheus_client import Counter
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

receive_errors = Counter(
    "wemaster_channel_layer_receive_errors_total", "Channel-layer receives that lost Redis and waited to try again"
)

RETRY_FIRST_SECONDS = 0.1
RETRY_MAX_SECONDS = 1.0
_CONNECTION_ERRORS = (RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError)


class RedisChannelLayer(ChannelsRedisLayer):
    """channels-redis' layer whose `receive` rides out a lost Redis connection."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._failing_since: float | None = None

    async def receive(self, channel):
        delay = RETRY_FIRST_SECONDS
        while True:
            try:
                message = await super().receive(channel)
            except _CONNECTION_ERRORS as exc:
                receive_errors.inc()
                if self._failing_since is None:
                    self._failing_since = time.monotonic()
                    logger.warning("channel layer lost redis; receivers wait for it", extra={"error": repr(exc)})
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)
                continue
            if self._failing_since is not None:
                logger.warning(
                    "channel layer receiving again",
                    extra={"waited_seconds": round(time.monotonic() - self._failing_since, 2)},
                )
                self._failing_since = None
            return message
