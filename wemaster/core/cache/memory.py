"""The per-process memory level: a bounded LRU of packed entries with a short TTL.

Opt-in per call (`local=True`) for read-mostly data only. Entries are kept packed
(msgpack bytes) so a caller mutating the value it got back cannot corrupt the copy.
An entry here is only served after its tag versions are checked against Redis
(through the short tag memo in `tags.py`), so invalidation reaches every process.
"""

import threading
import time
from collections import OrderedDict

from django.conf import settings

from wemaster.core.cache import metrics


class MemoryLevel:
    def __init__(self):
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            item = self._entries.get(key)
            if item is None:
                return None
            expires_at, packed = item
            if expires_at <= time.monotonic():
                del self._entries[key]
                metrics.memory_entries.set(len(self._entries))
                return None
            self._entries.move_to_end(key)
            return packed

    def set(self, key: str, packed: bytes, ttl: float) -> None:
        ttl = min(ttl, settings.CACHE_MEMORY_TTL_SECONDS)
        if ttl <= 0:
            return
        with self._lock:
            self._entries[key] = (time.monotonic() + ttl, packed)
            self._entries.move_to_end(key)
            while len(self._entries) > settings.CACHE_MEMORY_MAX_ENTRIES:
                self._entries.popitem(last=False)
            metrics.memory_entries.set(len(self._entries))

    def discard(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            metrics.memory_entries.set(0)

    def __len__(self) -> int:
        return len(self._entries)


memory = MemoryLevel()
