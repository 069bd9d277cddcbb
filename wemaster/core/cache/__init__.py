"""The project's one cache API (DESIGN.md, Speed): explicit, tagged, invalidated on commit.

    overview = get_or_compute(
        f"earnings:overview:{tutor.id}",
        lambda: build_overview(tutor),
        tags=[f"tutor:{tutor.id}:earnings"],
        ttl=300,
        family="earnings_overview",
    )
    ...
    invalidate_tags(f"tutor:{tutor.id}:earnings")   # inside the writing transaction

Each app may ship a `warmers.py` module with `WARMERS = {"family": callable}`;
`manage.py warm_cache` and the beat task discover them (issue #3).

Values must be plain data (dict, list, str, int, float, bool, None): they are
serialized with msgpack, never pickled. Invalidating a tag bumps its version, so every
entry stored under an older version becomes a miss in every process. Invalidation is
registered with `transaction.on_commit`: a rolled-back write invalidates nothing.
`CACHES_ENABLED=off` turns every call into a plain `compute()`.
"""

from wemaster.core.cache.api import get_or_compute, invalidate_tags

__all__ = ["get_or_compute", "invalidate_tags"]
