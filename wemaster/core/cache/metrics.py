"""Prometheus series of the cache platform (exported on /metrics by django-prometheus).

The benchmark reports the hit ratio from `wemaster_cache_requests_total`:
hits / (hits + misses) per level and family.

The gauges are per process; with several processes (PROMETHEUS_MULTIPROC_DIR) /metrics merges
them over the live ones: the longest TTL, the entries of all memory levels, the worst breaker.
"""

from prometheus_client import Counter, Gauge

requests = Counter(
    "wemaster_cache_requests_total",
    "Cache lookups by level (memory, redis), key family and result (hit, miss)",
    ["level", "family", "result"],
)
computes = Counter("wemaster_cache_computes_total", "Values computed from the database on a miss", ["family"])
stale_served = Counter(
    "wemaster_cache_stale_served_total",
    "Values served past their freshness: reason=stampede (another process recomputes) or error (database down)",
    ["family", "reason"],
)
family_ttl = Gauge(
    "wemaster_cache_family_ttl_seconds", "Current adaptive TTL of a key family", ["family"], multiprocess_mode="livemax"
)
memory_entries = Gauge(
    "wemaster_cache_memory_entries", "Entries held in the processes' memory levels", multiprocess_mode="livesum"
)
memory_bytes = Gauge(
    "wemaster_cache_memory_bytes", "Estimated bytes held in the processes' memory levels", multiprocess_mode="livesum"
)
memory_skipped = Counter(
    "wemaster_cache_memory_skipped_total", "Values too large for the memory level (served from Redis only)"
)
tag_memo_bytes = Gauge(
    "wemaster_cache_tag_memo_bytes",
    "Estimated bytes held in the processes' tag-version memos",
    multiprocess_mode="livesum",
)
breaker_state = Gauge(
    "wemaster_cache_breaker_state",
    "Circuit breaker state: 0 closed, 1 half-open, 2 open (the worst over the live processes)",
    ["breaker"],
    multiprocess_mode="livemax",
)
breaker_transitions = Counter(
    "wemaster_cache_breaker_transitions_total", "Circuit breaker state changes", ["breaker", "to"]
)
redis_errors = Counter(
    "wemaster_cache_redis_errors_total", "Redis calls that failed to connect or timed out", ["breaker"]
)
epoch_bumps = Counter("wemaster_cache_epoch_bumps_total", "Global cache epoch bumps after a Redis outage")
