"""What a stale copy may still show: removal marks (written on commit, dropped on restore), the
epoch rule (no copy from before an outage that may have lost invalidations and marks), and no
stale copy at all when the marks cannot be read (wemaster/core/cache/removals.py)."""

import pytest
from django.core.cache import caches
from django.db import OperationalError, transaction

from wemaster.core.cache import get_or_compute
from wemaster.core.cache import tags as tag_versions
from wemaster.core.cache.removals import (
    RemovalsUnknown,
    mark_lifetime,
    mark_removed,
    removed_among,
    unmark_removed,
)

pytestmark = pytest.mark.django_db(transaction=True)


def database_down():
    raise OperationalError("connection refused")


def without_removed(rows):
    gone = removed_among("thing", rows)
    return [row for row in rows if row not in gone]


def cached_then_invalidated(key="page:1", rows=(1, 2, 3)):
    get_or_compute(key, lambda: list(rows), tags=["things"], stale_if_error=True, on_stale=without_removed)
    tag_versions.bump(["things"])


def stale(key="page:1"):
    return get_or_compute(key, database_down, tags=["things"], stale_if_error=True, on_stale=without_removed)


def test_marks_are_written_on_commit_only_and_restores_drop_them():
    with pytest.raises(RuntimeError), transaction.atomic():
        mark_removed("thing", [1])
        raise RuntimeError("rolled back")
    assert removed_among("thing", [1, 2]) == set()
    with transaction.atomic():
        mark_removed("thing", [1, 2])
        assert removed_among("thing", [1, 2]) == set()  # not before the commit
    assert removed_among("thing", [1, 2, 3]) == {1, 2}
    with transaction.atomic():
        unmark_removed("thing", [2])
    assert removed_among("thing", [1, 2, 3]) == {1}
    assert removed_among("other kind", [1]) == set()


@pytest.mark.redis
def test_a_mark_outlives_every_copy_cached_before_it(settings):
    settings.CACHE_FAMILY_TTL_BOUNDS = {"slow": (60, 7200)}
    with transaction.atomic():
        mark_removed("thing", [7])
    client = caches["default"].client.get_client(write=True)
    ttl = client.ttl(caches["default"].make_key("removed:thing:7"))
    assert mark_lifetime() == 7200 + settings.CACHE_STALE_IF_ERROR_MAX_AGE
    assert ttl > settings.CACHE_TTL_CEILING + settings.CACHE_STALE_IF_ERROR_MAX_AGE - 5


def test_a_stale_copy_is_served_without_the_removed_items():
    cached_then_invalidated()
    with transaction.atomic():
        mark_removed("thing", [2])
    assert stale() == [1, 3]


def test_a_copy_from_an_earlier_epoch_is_not_served_stale():
    """Redis came back from an outage (epoch bumped): marks written meanwhile may be lost, so
    copies from before are not trusted while the database is down."""
    cached_then_invalidated()
    tag_versions.bump_epoch()
    with pytest.raises(OperationalError):
        stale()
    # a copy computed in the new epoch is served
    get_or_compute("page:1", lambda: [4], tags=["things"], stale_if_error=True, on_stale=without_removed)
    tag_versions.bump(["things"])
    assert stale() == [4]


def test_when_the_marks_cannot_be_read_no_stale_copy_is_served():
    cached_then_invalidated()

    def unknown(rows):
        raise RemovalsUnknown("thing")

    with pytest.raises(OperationalError):
        get_or_compute("page:1", database_down, tags=["things"], stale_if_error=True, on_stale=unknown)


@pytest.mark.redis
def test_removed_among_refuses_to_guess_when_redis_does_not_answer(throwaway_redis):
    assert removed_among("thing", [1]) == set()
    throwaway_redis.kill()
    with pytest.raises(RemovalsUnknown):
        removed_among("thing", [1])
