"""The per-process memory level: packed entries with a short TTL, bounded in bytes.

Opt-in per call (`local=True`) for read-mostly data only. Entries are kept packed
(msgpack bytes) so a caller mutating the value it got back cannot corrupt the copy.
An entry here is only served after its tag versions are checked against Redis
(through the short tag memo in `tags.py`), so invalidation reaches every process.

Bounded by bytes, not by count (a count bound lets a few large values take any amount of
memory): cachetools' `TLRUCache` evicts expired entries first, then the least recently used,
until the total is within `CACHE_MEMORY_MAX_BYTES`. An entry is sized when stored by
`entry_size`: the packed bytes and the key as Python holds them, plus a fixed overhead for the
cache's own bookkeeping. A packed value over `CACHE_MEMORY_MAX_ENTRY_BYTES` skips this level
(it is still served from Redis).
"""

import sys
import threading
import time

from cachetools import TLRUCache
from django.conf import settings

from wemaster.core.cache import metrics

# Per entry beyond key and value: the (expires_at, packed, key) tuple and its float, the slots of
# cachetools' dicts, LRU order and expiry heap, and the room those keep while entries churn
# (measured on CPython 3.11 with tracemalloc, a full level taking new keys: 300-490 bytes, depending
# on where the dicts are between two resizes; rounded up so the bound holds for what is really held).
ENTRY_OVERHEAD_BYTES = 576


def entry_size(item: tuple[float, bytes, str]) -> int:
    """Bytes an `(expires_at, packed, key)` item holds: the key is kept in the item so that
    cachetools, which sizes values only, counts it too."""
    _, packed, key = item
    return sys.getsizeof(key) + sys.getsizeof(packed) + ENTRY_OVERHEAD_BYTES


def _expires_at(key, item, now) -> float:
    return item[0]


class MemoryLevel:
    def __init__(self):
        self._lock = threading.Lock()
        self._entries = self._new_store()

    @staticmethod
    def _new_store() -> TLRUCache:
        return TLRUCache(
            maxsize=settings.CACHE_MEMORY_MAX_BYTES, ttu=_expires_at, timer=time.monotonic, getsizeof=entry_size
        )

    def get(self, key: str) -> bytes | None:
        with self._lock:
            item = self._entries.get(key)
        return None if item is None else item[1]

    def set(self, key: str, packed: bytes, ttl: float) -> None:
        ttl = min(ttl, settings.CACHE_MEMORY_TTL_SECONDS)
        if ttl <= 0:
            return
        with self._lock:
            if self._entries.maxsize != settings.CACHE_MEMORY_MAX_BYTES:
                self._entries = self._new_store()  # the bound was reconfigured (tests)
            item = (time.monotonic() + ttl, packed, key)
            if entry_size(item) > min(settings.CACHE_MEMORY_MAX_ENTRY_BYTES, self._entries.maxsize):
                self._entries.pop(key, None)  # an older, smaller copy must not outlive this value
                metrics.memory_skipped.inc()
            else:
                self._entries[key] = item
            self._report()

    def discard(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)
            self._report()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._report()

    def _report(self) -> None:
        metrics.memory_entries.set(len(self._entries))
        metrics.memory_bytes.set(self._entries.currsize)

    @property
    def size_bytes(self) -> int:
        """The sum of `entry_size` over the entries held (expired ones until they are purged)."""
        with self._lock:
            return self._entries.currsize

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


memory = MemoryLevel()
