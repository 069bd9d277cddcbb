"""Adaptive TTL per key family, kept in process memory.

A family's TTL starts at the TTL its caller asks for. Each time an entry is found
intact past its freshness (nobody invalidated it during a whole TTL) the TTL grows by
`CACHE_TTL_GROW`; each time an entry is found invalidated by a tag bump it shrinks by
`CACHE_TTL_SHRINK`. It always stays within the family's bounds: those configured in
`CACHE_FAMILY_TTL_BOUNDS`, else [ttl / CACHE_TTL_SPREAD, ttl * CACHE_TTL_SPREAD] clamped
to [CACHE_TTL_FLOOR, CACHE_TTL_CEILING].
"""

import threading

from django.conf import settings

from wemaster.core.cache import metrics


def bounds(family: str, requested: float) -> tuple[float, float]:
    configured = settings.CACHE_FAMILY_TTL_BOUNDS.get(family)
    if configured:
        return float(configured[0]), float(configured[1])
    spread = settings.CACHE_TTL_SPREAD
    low = max(settings.CACHE_TTL_FLOOR, requested / spread)
    high = min(settings.CACHE_TTL_CEILING, requested * spread)
    return min(low, high), max(low, high)


class AdaptiveTTL:
    def __init__(self):
        self._lock = threading.Lock()
        self._ttl: dict[str, float] = {}

    def current(self, family: str, requested: float) -> float:
        low, high = bounds(family, requested)
        with self._lock:
            ttl = self._ttl.get(family, requested)
        return min(max(ttl, low), high)

    def _move(self, family: str, requested: float, factor: float) -> float:
        low, high = bounds(family, requested)
        with self._lock:
            ttl = min(max(self._ttl.get(family, requested) * factor, low), high)
            self._ttl[family] = ttl
        metrics.family_ttl.labels(family).set(ttl)
        return ttl

    def survived(self, family: str, requested: float) -> float:
        return self._move(family, requested, settings.CACHE_TTL_GROW)

    def churned(self, family: str, requested: float) -> float:
        return self._move(family, requested, settings.CACHE_TTL_SHRINK)

    def clear(self) -> None:
        with self._lock:
            self._ttl.clear()


adaptive_ttl = AdaptiveTTL()
