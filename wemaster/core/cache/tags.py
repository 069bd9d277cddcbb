"""Tags as versioned keys, plus the global cache epoch.

Every entry records the version of each of its tags (and of the epoch) when it was
computed; invalidating a tag increments its version in Redis, so every entry carrying
it becomes a miss in every process. A fresh tag starts at the current time in
milliseconds, so an evicted tag key can never count back up to a version an old entry
still carries.

Reading versions for the memory level goes through a short per-process memo
(`CACHE_TAG_MEMO_SECONDS`), so a memory hit costs at most one Redis round trip and an
invalidation made by another process is seen within that memo's lifetime. This
process's own invalidations drop its memo at once. The memo is bounded in bytes
(`CACHE_TAG_MEMO_MAX_BYTES`, least recently used evicted).
"""

import logging
import sys
import threading
import time

from cachetools import LRUCache
from django.conf import settings
from django.core.cache import caches

from wemaster.core.cache import metrics
from wemaster.core.cache.redis_client import CacheUnavailable

logger = logging.getLogger(__name__)

EPOCH = "__epoch__"
TAG_PREFIX = "tagv:"


def cache():
    return caches["default"]


def _now_version() -> int:
    return int(time.time() * 1000)


# Per memo entry beyond the tag string: the (time, version, tag) tuple and its numbers, the slots
# of cachetools' dicts and LRU order, and the room those dicts keep while entries churn (measured on
# CPython 3.11 with tracemalloc, a full memo taking new tags: 280-390 bytes; rounded up).
MEMO_OVERHEAD_BYTES = 448


def memo_item_size(item: tuple[float, int, str]) -> int:
    return sys.getsizeof(item[2]) + MEMO_OVERHEAD_BYTES


class TagMemo:
    """Tag versions this process read recently, bounded by `CACHE_TAG_MEMO_MAX_BYTES` (least
    recently used evicted first): tag names can carry request input (a tag filter), so their
    number is not bounded by the code."""

    def __init__(self):
        self._lock = threading.Lock()
        self._versions = self._new_store()

    @staticmethod
    def _new_store() -> LRUCache:
        return LRUCache(maxsize=settings.CACHE_TAG_MEMO_MAX_BYTES, getsizeof=memo_item_size)

    def get(self, tags: list[str]) -> dict[str, int] | None:
        """Memoized versions of all `tags`, or None when any is missing or too old."""
        limit = time.monotonic() - settings.CACHE_TAG_MEMO_SECONDS
        found = {}
        with self._lock:
            for tag in tags:
                item = self._versions.get(tag)
                if item is None or item[0] < limit:
                    return None
                found[tag] = item[1]
        return found

    def remember(self, versions: dict[str, int]) -> None:
        now = time.monotonic()
        with self._lock:
            if self._versions.maxsize != settings.CACHE_TAG_MEMO_MAX_BYTES:
                self._versions = self._new_store()  # the bound was reconfigured (tests)
            for tag, version in versions.items():
                item = (now, version, tag)
                if memo_item_size(item) <= self._versions.maxsize:
                    self._versions[tag] = item
            metrics.tag_memo_bytes.set(self._versions.currsize)

    def forget(self, tags) -> None:
        with self._lock:
            for tag in tags:
                self._versions.pop(tag, None)

    def clear(self) -> None:
        with self._lock:
            self._versions.clear()
            metrics.tag_memo_bytes.set(0)

    @property
    def size_bytes(self) -> int:
        with self._lock:
            return self._versions.currsize

    def __len__(self) -> int:
        with self._lock:
            return len(self._versions)


memo = TagMemo()


def _versions_from(found: dict, tags: list[str]) -> dict[str, int] | None:
    """Versions of `tags` out of a `get_many` answer; None when Redis did not answer.

    The epoch key always exists once initialized, so its absence means Redis is down
    (the client turned the call into a miss) or was emptied: either way no entry can be
    trusted and none is stored until the epoch is back.
    """
    epoch = found.get(TAG_PREFIX + EPOCH)
    if epoch is None:
        # First use (or an emptied Redis): whoever wins the add sets it, everyone reads it.
        cache().add(TAG_PREFIX + EPOCH, _now_version(), timeout=None)
        epoch = cache().get(TAG_PREFIX + EPOCH)
        if epoch is None:
            return None
    versions = {tag: int(found.get(TAG_PREFIX + tag, 0)) for tag in tags}
    versions[EPOCH] = int(epoch)
    return versions


def answered(found: dict) -> bool:
    """Whether a `get_many` answer that asked for the epoch key came from Redis (a missing epoch
    is initialized first), as opposed to the miss an unreachable Redis turns into."""
    return _versions_from(found, []) is not None


def read(entry_key: str, tags: list[str]) -> tuple[bytes | None, dict[str, int] | None]:
    """The raw entry under `entry_key` and the current versions of `tags` (epoch
    included), in one Redis round trip. Versions are None when Redis cannot answer."""
    keys = [entry_key] + [TAG_PREFIX + tag for tag in tags] + [TAG_PREFIX + EPOCH]
    found = cache().get_many(keys)
    versions = _versions_from(found, tags)
    if versions is not None:
        memo.remember(versions)
    return found.get(entry_key), versions


def current(tags: list[str]) -> dict[str, int] | None:
    """Versions of `tags` (epoch included) from the memo when fresh, else one round trip."""
    versions = memo.get([*tags, EPOCH])
    if versions is not None:
        return versions
    found = cache().get_many([TAG_PREFIX + tag for tag in tags] + [TAG_PREFIX + EPOCH])
    versions = _versions_from(found, tags)
    if versions is not None:
        memo.remember(versions)
    return versions


def bump(tags) -> None:
    """Increment the version of each tag now. Precondition: the writing transaction has
    committed (`invalidate_tags` registers this with `transaction.on_commit`)."""
    memo.forget(tags)
    for tag in tags:
        key = TAG_PREFIX + tag
        try:
            try:
                cache().incr(key)
            except CacheUnavailable:
                raise
            except ValueError:  # never bumped (or evicted): start from the clock
                if not cache().add(key, _now_version(), timeout=None):
                    cache().incr(key)
        except CacheUnavailable:
            # The breaker marked itself dirty: the epoch is bumped when Redis answers again.
            logger.warning("tag invalidation did not reach Redis", extra={"tag": tag})


def bump_epoch() -> None:
    """Make every entry of the cache API a miss in every process (after a Redis outage)."""
    from wemaster.core.cache.memory import memory

    memory.clear()
    memo.clear()
    bump([EPOCH])
    metrics.epoch_bumps.inc()
