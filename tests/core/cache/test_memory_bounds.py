"""The per-process memory level and tag memo are bounded in bytes, not entries: many distinct
large values (or long tag names) cannot grow a worker past the configured bound."""

import os
import tracemalloc

import pytest

from wemaster.core.cache import get_or_compute
from wemaster.core.cache.memory import MemoryLevel, memory
from wemaster.core.cache.tags import TagMemo, memo

MIB = 1024 * 1024


@pytest.fixture
def bounded(settings):
    settings.CACHE_MEMORY_MAX_BYTES = 2 * MIB
    settings.CACHE_MEMORY_MAX_ENTRY_BYTES = 256 * 1024
    settings.CACHE_MEMORY_TTL_SECONDS = 600
    settings.CACHE_TAG_MEMO_MAX_BYTES = 256 * 1024
    settings.CACHE_TAG_MEMO_SECONDS = 600
    return settings


@pytest.mark.parametrize(
    ("value_bytes", "count"),
    [(100 * 1024, 1000), (200, 20_000)],  # 1000 x 100 KiB (50x the bound); many small ones (overheads)
)
def test_many_entries_stay_within_the_byte_bound_and_the_least_recently_used_go(bounded, value_bytes, count):
    level = MemoryLevel()
    level.set("k:kept", os.urandom(value_bytes), 600)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for index in range(count):
            level.set(f"k:{index}", os.urandom(value_bytes), 600)
            assert level.get("k:kept") is not None  # used all along: never the least recent
            assert level.size_bytes <= bounded.CACHE_MEMORY_MAX_BYTES
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # what the process really holds afterwards (keys, values, bookkeeping) is within the bound too
    assert grown <= bounded.CACHE_MEMORY_MAX_BYTES
    assert len(level) < count / 5
    assert level.get("k:0") is None
    assert level.get(f"k:{count - 2}") is not None and level.get(f"k:{count - 1}") is not None


def test_a_value_over_the_entry_cap_skips_the_memory_level_and_still_is_served(bounded, settings):
    huge = "x" * (300 * 1024)
    calls = []
    assert get_or_compute("k:huge", lambda: calls.append(1) or huge, local=True) == huge
    assert memory.get("k:huge") is None and memory.size_bytes == 0
    assert get_or_compute("k:huge", lambda: calls.append(1) or huge, local=True) == huge
    assert len(calls) == 1  # the second read came from the shared cache
    # a smaller copy stored earlier is dropped, not left to be served after the large one
    memory.set("k:grows", b"small", 600)
    memory.set("k:grows", huge.encode(), 600)
    assert memory.get("k:grows") is None


def test_tag_memo_is_bounded_in_bytes_and_evicts_the_least_recently_used(bounded):
    store = TagMemo()
    store.remember({"tag:kept": 1})
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for index in range(20_000):
            store.remember({f"tag:{'x' * 200}:{index}": index})
            assert store.get(["tag:kept"]) == {"tag:kept": 1}
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert store.size_bytes <= bounded.CACHE_TAG_MEMO_MAX_BYTES
    assert grown <= bounded.CACHE_TAG_MEMO_MAX_BYTES
    assert len(store) < 20_000
    assert store.get([f"tag:{'x' * 200}:0"]) is None
    assert store.get([f"tag:{'x' * 200}:19999"]) == {f"tag:{'x' * 200}:19999": 19999}


def test_the_process_memo_follows_its_setting(bounded):
    memo.remember({f"t:{index}": index for index in range(5000)})
    assert 0 < memo.size_bytes <= bounded.CACHE_TAG_MEMO_MAX_BYTES
