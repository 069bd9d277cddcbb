"""`get_or_compute` and `invalidate_tags`: the three-level read-through cache.

Lookup order: the memory level (only with `local=True`) -> Redis -> `compute()`.
An entry is `{"v": value, "t": tag versions (epoch included), "f": fresh until}`,
msgpack-packed. It is served while its tag versions are current and it is fresh; it
stays in Redis a grace period past freshness so that, while one caller recomputes it
under a short lock, the others serve the old value instead of stampeding the database
(and so the adaptive TTL can see it survived). With `stale_if_error=True` the grace is
`CACHE_STALE_IF_ERROR_MAX_AGE`, and that last good copy (tags ignored) is served when
`compute()` cannot reach the database, if it was computed in the current epoch (no
invalidation can have been lost since) and after `on_stale` removed what was taken down
since it was cached (`removals.py`).

Keys built from request input are hashed and capped per family (`keys.py`, `distinct_keys`).
"""

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

import msgpack
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction

from wemaster.core.cache import keys, metrics
from wemaster.core.cache import tags as tag_versions
from wemaster.core.cache.memory import memory
from wemaster.core.cache.removals import RemovalsUnknown
from wemaster.core.cache.stale import mark_stale_served
from wemaster.core.cache.tags import EPOCH
from wemaster.core.cache.ttl import adaptive_ttl
from wemaster.core.db_router import reading_primary
from wemaster.flags.checks import cache_family_enabled

logger = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_TTL = 300
ENTRY_PREFIX = "entry:"
LOCK_PREFIX = "lock:"


def _pack(entry: dict) -> bytes:
    return msgpack.packb(entry, use_bin_type=True)


def _unpack(raw: bytes) -> dict | None:
    try:
        entry = msgpack.unpackb(raw, raw=False, strict_map_key=False)
    except (ValueError, msgpack.UnpackException):
        return None
    return entry if isinstance(entry, dict) and {"v", "t", "f"} <= entry.keys() else None


@dataclass(frozen=True)
class _Policy:
    family: str
    requested_ttl: float
    local: bool
    stale_if_error: bool
    on_stale: Callable | None
    distinct_keys: int | None
    store_if: Callable | None


def get_or_compute(
    key: str,
    compute: Callable[[], T],
    *,
    tags: Iterable[str] = (),
    ttl: int | None = None,
    family: str | None = None,
    local: bool = False,
    stale_if_error: bool = False,
    on_stale: Callable[[T], T] | None = None,
    distinct_keys: int | None = None,
    store_if: Callable[[T], bool] | None = None,
) -> T:
    """The cached value of `key`, or `compute()` stored under the current tag versions.

    `compute()` must return plain data (dict, list, str, int, float, bool, None, bytes).
    `family` names the key family (metrics, adaptive TTL); it defaults to the key's first
    colon-separated segment. `ttl` is the starting TTL of the family (default 300 s).
    `local=True` also keeps the value in this process' memory level: read-mostly data only.
    `stale_if_error=True` (public read-mostly families only, never private or money data)
    serves the last good value, marking the response `Cache-Status: stale-if-error`, when
    `compute()` raises a database OperationalError/InterfaceError; otherwise that error
    propagates (the API answers 503). `on_stale(value)` returns that value without what was
    removed since (`removals.removed_among`); when it raises RemovalsUnknown, or the copy predates
    the current epoch, the database error propagates instead.
    Keys built from request input: `key` from `keys.params_key`, `distinct_keys` caps how many
    entries of the family live in Redis (`keys.admit`), and `store_if(value)` False leaves a value
    unstored (e.g. the empty page of a filter value nothing matches).
    `CACHES_ENABLED=off`, or the flag `cache.<family>` off for the request's user
    (wemaster/flags), makes the call a plain `compute()`.
    """
    family = family or key.split(":", 1)[0]
    if not settings.CACHES_ENABLED or not cache_family_enabled(family):
        return compute()
    policy = _Policy(
        family=family,
        requested_ttl=float(ttl or DEFAULT_TTL),
        local=local,
        stale_if_error=stale_if_error,
        on_stale=on_stale,
        distinct_keys=distinct_keys,
        store_if=store_if,
    )
    family, requested_ttl = policy.family, policy.requested_ttl
    tag_list = sorted(set(tags))

    if local:
        value, found = _memory_lookup(key, tag_list)
        metrics.requests.labels("memory", family, "hit" if found else "miss").inc()
        if found:
            return value

    raw, versions = tag_versions.read(ENTRY_PREFIX + key, tag_list)
    entry = _unpack(raw) if raw is not None else None
    now = time.time()
    if entry is not None and versions is not None and entry["t"] == versions:
        if entry["f"] > now:
            metrics.requests.labels("redis", family, "hit").inc()
            if local:
                memory.set(key, raw, entry["f"] - now)
            return entry["v"]
        adaptive_ttl.survived(family, requested_ttl)
        fresh_enough_to_share = entry
    else:
        same_epoch = versions is not None and entry is not None and entry["t"].get(EPOCH) == versions[EPOCH]
        if same_epoch:  # a tag was bumped: the family churns
            adaptive_ttl.churned(family, requested_ttl)
        fresh_enough_to_share = None
    metrics.requests.labels("redis", family, "miss").inc()
    return _recompute(
        key, compute, policy, tag_list=tag_list, versions=versions, previous=entry, shareable=fresh_enough_to_share
    )


def _memory_lookup(key: str, tag_list: list[str]) -> tuple[object, bool]:
    packed = memory.get(key)
    if packed is None:
        return None, False
    entry = _unpack(packed)
    if entry is not None and entry["f"] > time.time() and entry["t"] == tag_versions.current(tag_list):
        return entry["v"], True
    memory.discard(key)
    return None, False


def _recompute(key, compute, policy: _Policy, *, tag_list, versions, previous, shareable):
    family = policy.family
    cache = tag_versions.cache()
    lock_key = LOCK_PREFIX + key
    if versions is not None and not cache.add(lock_key, 1, timeout=settings.CACHE_LOCK_TIMEOUT_SECONDS):
        # Another caller is recomputing this key: serve the old value if its tags are
        # still current, else wait briefly for the new one.
        if shareable is not None:
            metrics.stale_served.labels(family, "stampede").inc()
            return shareable["v"]
        deadline = time.monotonic() + settings.CACHE_LOCK_WAIT_SECONDS
        while True:
            # Look at the lock before the entry: the holder stores, then unlocks, so an entry read
            # after seeing the lock gone is the holder's if it stored one. (Read the other way round,
            # a holder finishing between the two reads made this caller compute a second time.)
            holder_done = cache.get(lock_key) is None
            raw, versions = tag_versions.read(ENTRY_PREFIX + key, tag_list)
            entry = _unpack(raw) if raw is not None else None
            if entry is not None and versions is not None and entry["t"] == versions and entry["f"] > time.time():
                metrics.requests.labels("redis", family, "hit").inc()
                return entry["v"]
            if holder_done or time.monotonic() >= deadline:
                break
            time.sleep(settings.CACHE_LOCK_POLL_SECONDS)
        return _compute_and_store(key, compute, policy, versions, previous=entry)
    try:
        if versions is not None:
            # The previous holder may have stored the value between our read and our lock.
            raw, versions = tag_versions.read(ENTRY_PREFIX + key, tag_list)
            entry = _unpack(raw) if raw is not None else None
            if entry is not None and versions is not None and entry["t"] == versions and entry["f"] > time.time():
                return entry["v"]
        return _compute_and_store(key, compute, policy, versions, previous=previous)
    finally:
        if versions is not None:
            cache.delete(lock_key)


def _compute_and_store(key, compute, policy: _Policy, versions, *, previous):
    family = policy.family
    try:
        # A replica may not have replayed the write that bumped these tags: what it returns
        # would be stored under the new versions and outlive the invalidation.
        with reading_primary():
            value = compute()
    except (OperationalError, InterfaceError):
        stale = _stale_copy(policy, previous, versions) if policy.stale_if_error else None
        if stale is None:
            raise
        logger.warning("database unreachable; serving last good value", extra={"key": key, "family": family})
        metrics.stale_served.labels(family, "error").inc()
        mark_stale_served(family)
        return stale[0]
    metrics.computes.labels(family).inc()
    if versions is None:  # Redis did not answer: nothing can be stored safely
        return value
    if policy.store_if is not None and not policy.store_if(value):
        return value
    ttl = adaptive_ttl.current(family, policy.requested_ttl)
    grace = settings.CACHE_STALE_IF_ERROR_MAX_AGE if policy.stale_if_error else settings.CACHE_STALE_GRACE_SECONDS
    cache = tag_versions.cache()
    if policy.distinct_keys is not None and not keys.admit(
        cache, family=family, entry_key=ENTRY_PREFIX + key, lifetime=ttl + grace, distinct_keys=policy.distinct_keys
    ):
        return value
    packed = _pack({"v": value, "t": versions, "f": time.time() + ttl})
    cache.set(ENTRY_PREFIX + key, packed, timeout=ttl + grace)
    if policy.local:
        memory.set(key, packed, ttl)
    return value


def _stale_copy(policy: _Policy, previous: dict | None, versions: dict | None) -> tuple[object] | None:
    """`(value,)` of the last good copy fit to serve while the database is down, else None.

    A copy from an earlier epoch may predate invalidations and removal marks lost with Redis
    (the epoch is bumped when Redis comes back from such an outage): it is not served. A copy
    whose removals cannot be checked (`on_stale` raises RemovalsUnknown) is not served either."""
    if previous is None or versions is None or previous["t"].get(EPOCH) != versions[EPOCH]:
        return None
    if policy.on_stale is None:
        return (previous["v"],)
    try:
        return (policy.on_stale(previous["v"]),)
    except RemovalsUnknown:
        logger.warning("removals unknown; not serving a stale copy", extra={"family": policy.family})
        return None


def invalidate_tags(*tags: str) -> None:
    """Make every entry carrying one of `tags` a miss in every process, once the current
    transaction commits (at once when no transaction is open). A rolled-back transaction
    invalidates nothing."""
    if not tags:
        return
    pending = sorted(set(tags))
    transaction.on_commit(lambda: tag_versions.bump(pending))
