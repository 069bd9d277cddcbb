"""The project's one cache API (docs/ARCHITECTURE.md, Caching): explicit, tagged, invalidated on commit.

    overview = get_or_compute(
        f"earnings:overview:{tutor.id}",
        lambda: build_overview(tutor),
        tags=[f"tutor:{tutor.id}:earnings"],
        ttl=300,
        family="earnings_overview",
    )
    ...
    invalidate_tags(f"tutor:{tutor.id}:earnings")   # inside the writing transaction

Levels: per-process memory (`local=True`, `memory.py`) -> Redis through a circuit
breaker (`redis_client.py`, `breaker.py`) -> the database via `compute`. Tags are
versioned keys plus a global epoch (`tags.py`); TTLs adapt per family (`ttl.py`);
`stale_if_error=True` serves a last good copy when the database is down, marked by
`Cache-Status: stale-if-error` (`stale.py`), without the content removed since
(`removals.py`). Keys built from request input are checked, hashed and capped per family
(`keys.py`); the memory level and tag memo are bounded in bytes. Apps may ship a `warmers.py` module with
`WARMERS = {"family": callable}`; `manage.py warm_cache` and the beat task run them
(`warming.py`).

Values must be plain data (dict, list, str, int, float, bool, None): they are
serialized with msgpack, never pickled. Invalidation is registered with
`transaction.on_commit`: a rolled-back write invalidates nothing.
`CACHES_ENABLED=off` turns every call into a plain `compute()`; so does the feature flag
`cache.<family>` for the users it is off for (wemaster/flags: per-family gradual rollout).
"""

from wemaster.core.cache.api import get_or_compute, invalidate_tags

__all__ = ["get_or_compute", "invalidate_tags", "reset_process_state"]


def reset_process_state() -> None:
    """Forget everything this process holds outside Redis: memory level, tag memo,
    adaptive TTLs, breaker states. For tests, and after `cache.clear()` by hand."""
    from wemaster.core.cache import breaker
    from wemaster.core.cache.memory import memory
    from wemaster.core.cache.tags import memo
    from wemaster.core.cache.ttl import adaptive_ttl

    memory.clear()
    memo.clear()
    adaptive_ttl.clear()
    breaker.reset_all()
