"""Tagged read-through cache over the default Django cache (Redis in production)."""

import logging
from collections.abc import Callable, Iterable
from typing import TypeVar

import msgpack
from django.conf import settings
from django.core.cache import caches
from django.db import transaction

logger = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_TTL = 300
_TAG_PREFIX = "tagv:"
_ENTRY_PREFIX = "entry:"


def _cache():
    return caches["default"]


def _tag_versions(tags: list[str]) -> dict[str, int]:
    """Current version of each tag; a tag never invalidated has version 0."""
    if not tags:
        return {}
    found = _cache().get_many([_TAG_PREFIX + tag for tag in tags])
    return {tag: int(found.get(_TAG_PREFIX + tag, 0)) for tag in tags}


def get_or_compute(
    key: str,
    compute: Callable[[], T],
    *,
    tags: Iterable[str] = (),
    ttl: int | None = None,
    family: str | None = None,
    local: bool = False,
    stale_if_error: bool = False,
) -> T:
    """The cached value of `key`, or `compute()` stored under the current tag versions.

    `family` names the key family (metrics, TTL policy); it defaults to the key's
    first colon-separated segment. `local=True` allows the per-process memory level
    (read-mostly data only). `stale_if_error=True` lets a public read-mostly family
    serve its last good value when `compute()` cannot reach the database.
    The memory level and stale-if-error arrive with the caching-platform issue (#3);
    until then these two flags change nothing.
    """
    if not settings.CACHES_ENABLED:
        return compute()
    tags = sorted(set(tags))
    cache = _cache()
    versions = _tag_versions(tags)
    raw = cache.get(_ENTRY_PREFIX + key)
    if raw is not None:
        entry = msgpack.unpackb(raw, raw=False)
        if entry["t"] == versions:
            return entry["v"]
    value = compute()
    entry = {"t": versions, "v": value}
    cache.set(_ENTRY_PREFIX + key, msgpack.packb(entry, use_bin_type=True), timeout=ttl or DEFAULT_TTL)
    return value


def _bump(tags: list[str]) -> None:
    cache = _cache()
    for tag in tags:
        cache.add(_TAG_PREFIX + tag, 0, timeout=None)
        cache.incr(_TAG_PREFIX + tag)


def invalidate_tags(*tags: str) -> None:
    """Make every entry carrying one of `tags` a miss, once the current transaction commits
    (at once when no transaction is open)."""
    if not tags:
        return
    pending = sorted(set(tags))
    transaction.on_commit(lambda: _bump(pending))
