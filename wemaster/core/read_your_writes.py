"""Read-your-writes that outlives the request (docs/ARCHITECTURE.md, Read replicas).

After a scope that wrote on behalf of a user ends (an API request, a websocket frame), the
primary's WAL position is recorded for that user in the shared cache: the user's *floor*.
Any later read by that user, in any worker or connection, may use only a replica whose
replayed position (known from the background probe) has reached the floor; until then it
reads the primary. The record expires after `DATABASE_READ_YOUR_WRITES_SECONDS`: a replica
that has not replayed a write that old is far past `DATABASE_REPLICA_MAX_LAG` and unused anyway.

The position is read after the scope's transactions committed, so it is at or past each of
their commit records. Concurrent writers only ever raise a floor (add, else increment by the
difference: an increment that races another may overshoot, which only keeps the user on the
primary a little longer, never shorter).

When the cache cannot answer, a user's floor is unknown and the user reads the primary.
"""

import logging

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

from wemaster.core.cache import tags as tag_versions
from wemaster.core.replica_monitor import parse_lsn

logger = logging.getLogger(__name__)

KEY_PREFIX = "db:floor:"
ATTEMPTS = 3


def _key(user_id: int) -> str:
    return f"{KEY_PREFIX}{user_id}"


def primary_wal_position() -> int:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        return parse_lsn(cursor.fetchone()[0])


def record_write(user_id: int) -> None:
    """Raise `user_id`'s floor to the primary's current WAL position. Precondition: the
    writes to cover have committed. A cache that cannot be reached is logged, not raised."""
    position = primary_wal_position()
    cache = tag_versions.cache()
    key = _key(user_id)
    ttl = settings.DATABASE_READ_YOUR_WRITES_SECONDS
    for _ in range(ATTEMPTS):
        try:
            if cache.add(key, position, timeout=ttl):
                return
            current = cache.get(key)
            if current is None:
                continue  # expired in between: add again
            if int(current) < position:
                cache.incr(key, position - int(current))
            cache.touch(key, ttl)
            return
        except ValueError:  # expired before the increment, or the cache is unavailable
            continue
    logger.warning("user's write position not recorded", extra={"user_id": user_id})


def floor_for(user_id: int) -> int | None:
    """The WAL position a replica must have replayed to serve `user_id` (0: any replica), or
    None when the cache cannot tell (one round trip: the cache epoch tells a miss from an
    unreachable cache)."""
    raw, versions = tag_versions.read(_key(user_id), [])
    if versions is None:
        return None
    return int(raw or 0)
