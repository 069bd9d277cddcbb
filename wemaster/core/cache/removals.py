"""Removal marks: content taken down (hidden by a moderator, deleted by its author) is never
served from a stale copy cached before it went (README, Caching and resilience).

Stale-if-error serves a last good copy while PostgreSQL is down, ignoring tag versions, so a tag
bump cannot take a removed post out of it. Instead every removal leaves a mark in Redis
(`removed:<kind>:<id>`), written when the removing transaction commits and kept as long as any copy
cached before it can still be served (the longest TTL plus `CACHE_STALE_IF_ERROR_MAX_AGE`); the
family's `on_stale` drops marked ids from the copy before it is served. The check needs no
database: the marks live in the same Redis as the copies.

- A mark lost with Redis (written while it was down, or not replicated before a failover) is
  covered by the epoch: Redis coming back from such an outage bumps it, and stale copies of an
  earlier epoch are not served (`api._stale_copy`).
- When Redis cannot answer the check, no stale copy is served (`RemovalsUnknown`): there is then
  no copy to serve anyway, copies live in that Redis. So no per-process mirror is kept.
"""

from collections.abc import Iterable

from django.conf import settings
from django.db import transaction

from wemaster.core.cache.tags import EPOCH, TAG_PREFIX, answered, cache

MARK_PREFIX = "removed:"


class RemovalsUnknown(Exception):
    """Redis could not say which ids were removed: the stale copy must not be served."""


def _mark_key(kind: str, item_id: int) -> str:
    return f"{MARK_PREFIX}{kind}:{int(item_id)}"


def mark_lifetime() -> int:
    """Seconds a mark must outlive its removal: the longest an entry cached just before it
    stays in Redis (longest fresh TTL plus the stale-if-error age)."""
    longest_ttl = max([settings.CACHE_TTL_CEILING, *(high for _, high in settings.CACHE_FAMILY_TTL_BOUNDS.values())])
    return longest_ttl + settings.CACHE_STALE_IF_ERROR_MAX_AGE


def mark_removed(kind: str, ids: Iterable[int]) -> None:
    """Mark `ids` of `kind` removed once the current transaction commits (a rolled-back removal
    marks nothing)."""
    marks = {_mark_key(kind, item_id): 1 for item_id in ids}
    if marks:
        transaction.on_commit(lambda: cache().set_many(marks, timeout=mark_lifetime()))


def unmark_removed(kind: str, ids: Iterable[int]) -> None:
    """Restored content: stale copies may show it again, once the transaction commits."""
    keys = [_mark_key(kind, item_id) for item_id in ids]
    if keys:
        transaction.on_commit(lambda: cache().delete_many(keys))


def removed_among(kind: str, ids: Iterable[int]) -> set[int]:
    """Which of `ids` carry a removal mark: one Redis round trip, no database. Raises
    RemovalsUnknown when Redis does not answer (told apart from "no marks" by the epoch key,
    which always exists)."""
    ids = [int(item_id) for item_id in ids]
    found = cache().get_many([TAG_PREFIX + EPOCH, *(_mark_key(kind, item_id) for item_id in ids)])
    if not answered(found):
        raise RemovalsUnknown(kind)
    return {item_id for item_id in ids if _mark_key(kind, item_id) in found}
