"""The cache API: levels, tags, on-commit invalidation, adaptive TTL, stampede, stale-if-error.

Runs on real Redis when REDIS_URL is set (CI) and on the in-process cache otherwise."""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import msgpack
import pytest
from django.core.cache import cache, caches
from django.db import OperationalError, transaction

from wemaster.core.cache import get_or_compute, invalidate_tags
from wemaster.core.cache import tags as tag_versions
from wemaster.core.cache.memory import memory
from wemaster.core.cache.stale import _request_state, stale_families
from wemaster.core.cache.ttl import adaptive_ttl, bounds

ROOT = Path(__file__).resolve().parents[3]


class Counter:
    def __init__(self, value="v", delay=0.0):
        self.calls = 0
        self.value = value
        self.delay = delay
        self._lock = threading.Lock()

    def __call__(self):
        with self._lock:
            self.calls += 1
        if self.delay:
            time.sleep(self.delay)
        return self.value


def test_second_read_is_a_hit_and_value_is_msgpack_plain_data():
    compute = Counter({"rows": [1, 2, {"a": "b"}], "n": None})
    assert get_or_compute("k:1", compute, tags=["t"]) == {"rows": [1, 2, {"a": "b"}], "n": None}
    assert get_or_compute("k:1", compute, tags=["t"]) == {"rows": [1, 2, {"a": "b"}], "n": None}
    assert compute.calls == 1
    raw = cache.get("entry:k:1")
    entry = msgpack.unpackb(raw, raw=False)
    assert entry["v"] == {"rows": [1, 2, {"a": "b"}], "n": None}
    assert set(entry["t"]) == {"t", tag_versions.EPOCH}


def test_values_that_are_not_plain_data_are_refused():
    with pytest.raises(TypeError):
        get_or_compute("k:obj", lambda: object())


def test_caches_disabled_computes_every_time(settings):
    settings.CACHES_ENABLED = False
    compute = Counter()
    get_or_compute("k:off", compute)
    get_or_compute("k:off", compute)
    assert compute.calls == 2


@pytest.mark.django_db(transaction=True)
def test_invalidation_waits_for_commit_and_rollback_invalidates_nothing():
    compute = Counter("old")
    get_or_compute("k:tx", compute, tags=["post:7"])
    with pytest.raises(RuntimeError), transaction.atomic():
        invalidate_tags("post:7")
        raise RuntimeError("rolled back")
    assert get_or_compute("k:tx", compute, tags=["post:7"]) == "old"
    assert compute.calls == 1

    compute.value = "new"
    with transaction.atomic():
        invalidate_tags("post:7")
        # not yet committed: still the old value, for every reader
        assert get_or_compute("k:tx", compute, tags=["post:7"]) == "old"
    assert get_or_compute("k:tx", compute, tags=["post:7"]) == "new"
    assert compute.calls == 2


@pytest.mark.django_db(transaction=True)
def test_a_tag_invalidates_only_the_entries_carrying_it():
    a, b = Counter("a"), Counter("b")
    get_or_compute("k:a", a, tags=["tutor:1:earnings"])
    get_or_compute("k:b", b, tags=["tutor:2:earnings"])
    invalidate_tags("tutor:1:earnings")
    get_or_compute("k:a", a, tags=["tutor:1:earnings"])
    get_or_compute("k:b", b, tags=["tutor:2:earnings"])
    assert (a.calls, b.calls) == (2, 1)


def test_memory_level_is_bounded_lru(settings):
    get_or_compute("k:lru:probe", lambda: 0, local=True)
    one_entry = memory.size_bytes  # the keys below are as long as this one, the values as large
    memory.clear()
    settings.CACHE_MEMORY_MAX_BYTES = 3 * one_entry
    for index in range(5):
        get_or_compute(f"k:lru:{index}", lambda index=index: index, local=True)
    assert len(memory) == 3 and memory.size_bytes <= settings.CACHE_MEMORY_MAX_BYTES
    assert memory.get("k:lru:0") is None and memory.get("k:lru:1") is None
    assert memory.get("k:lru:4") is not None


@pytest.mark.redis
def test_memory_hit_costs_no_round_trip_within_the_memo_and_one_after(settings, monkeypatch):
    settings.CACHE_TAG_MEMO_SECONDS = 60
    compute = Counter([1, 2, 3])
    get_or_compute("k:mem", compute, tags=["tag"], local=True)
    calls = []
    backend = caches["default"]
    real_get_many = backend.get_many
    monkeypatch.setattr(backend, "get_many", lambda *a, **k: calls.append(a) or real_get_many(*a, **k))
    monkeypatch.setattr(backend, "get", lambda *a, **k: pytest.fail("memory hit read an entry"))
    assert get_or_compute("k:mem", compute, tags=["tag"], local=True) == [1, 2, 3]
    assert calls == []
    settings.CACHE_TAG_MEMO_SECONDS = 0
    assert get_or_compute("k:mem", compute, tags=["tag"], local=True) == [1, 2, 3]
    assert len(calls) == 1
    assert compute.calls == 1


def test_memory_level_returns_a_copy_callers_cannot_corrupt():
    get_or_compute("k:copy", lambda: {"rows": [1]}, local=True)
    get_or_compute("k:copy", lambda: {"rows": [1]}, local=True)["rows"].append(2)
    assert get_or_compute("k:copy", lambda: {"rows": [1]}, local=True) == {"rows": [1]}


@pytest.mark.redis
def test_tag_invalidation_reaches_the_memory_level_of_another_process(settings):
    """Another process bumps the tag; this one's memory entry is a miss once its memo lapses."""
    settings.CACHE_TAG_MEMO_SECONDS = 0.2
    compute = Counter("before")
    assert get_or_compute("k:xproc", compute, tags=["post:9"], local=True) == "before"
    assert memory.get("k:xproc") is not None
    script = "import django; django.setup(); from wemaster.core.cache import invalidate_tags; invalidate_tags('post:9')"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "wemaster.settings"}
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True, timeout=60)
    time.sleep(0.25)
    compute.value = "after"
    assert get_or_compute("k:xproc", compute, tags=["post:9"], local=True) == "after"
    assert compute.calls == 2


def test_adaptive_ttl_moves_within_bounds(settings):
    settings.CACHE_FAMILY_TTL_BOUNDS = {"fam": (10, 80)}
    assert adaptive_ttl.current("fam", 20) == 20
    for _ in range(20):
        adaptive_ttl.survived("fam", 20)
    assert adaptive_ttl.current("fam", 20) == 80
    for _ in range(20):
        adaptive_ttl.churned("fam", 20)
    assert adaptive_ttl.current("fam", 20) == 10
    # without configured bounds: [ttl / spread, ttl * spread] within floor and ceiling
    settings.CACHE_TTL_SPREAD, settings.CACHE_TTL_FLOOR, settings.CACHE_TTL_CEILING = 4, 10, 3600
    assert bounds("other", 100) == (25, 400)
    assert bounds("other", 20) == (10, 80)
    assert bounds("other", 2000) == (500, 3600)


@pytest.mark.django_db(transaction=True)
def test_ttl_shrinks_when_the_family_churns_and_grows_when_entries_survive(settings):
    settings.CACHE_FAMILY_TTL_BOUNDS = {"churny": (1, 16)}
    compute = Counter()
    get_or_compute("churny:1", compute, tags=["c"], ttl=4, family="churny")
    invalidate_tags("c")
    get_or_compute("churny:1", compute, tags=["c"], ttl=4, family="churny")
    assert adaptive_ttl.current("churny", 4) == 2
    time.sleep(2.05)  # outlives its (shrunk) TTL without an invalidation
    get_or_compute("churny:1", compute, tags=["c"], ttl=4, family="churny")
    assert adaptive_ttl.current("churny", 4) == 2.5
    assert compute.calls == 3


def test_stampede_on_a_cold_key_computes_once():
    compute = Counter("cold", delay=0.3)
    barrier = threading.Barrier(20)
    results = []

    def reader():
        barrier.wait()
        results.append(get_or_compute("k:stampede", compute, tags=["s"]))

    threads = [threading.Thread(target=reader) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["cold"] * 20
    assert compute.calls == 1


def test_while_one_caller_recomputes_an_expired_key_the_others_serve_the_old_value(settings):
    settings.CACHE_FAMILY_TTL_BOUNDS = {"exp": (1, 1)}
    get_or_compute("exp:1", lambda: "old", ttl=1, family="exp")
    time.sleep(1.05)
    cache.add("lock:exp:1", 1, timeout=10)  # someone else is recomputing
    assert get_or_compute("exp:1", lambda: pytest.fail("recomputed under a held lock"), ttl=1, family="exp") == "old"


def test_stale_if_error_serves_the_last_good_value_and_marks_the_request():
    get_or_compute("public:1", lambda: ["good"], tags=["p"], stale_if_error=True)
    tag_versions.bump(["p"])  # the entry is now invalid, yet still the last good copy

    def database_down():
        raise OperationalError("connection refused")

    token = _request_state.set({"stale_families": set()})
    try:
        assert get_or_compute("public:1", database_down, tags=["p"], stale_if_error=True) == ["good"]
        assert stale_families() == {"public"}
    finally:
        _request_state.reset(token)


def test_without_stale_if_error_a_database_error_propagates():
    get_or_compute("private:1", lambda: ["mine"], tags=["q"])
    tag_versions.bump(["q"])

    def database_down():
        raise OperationalError("connection refused")

    with pytest.raises(OperationalError):
        get_or_compute("private:1", database_down, tags=["q"])
    with pytest.raises(OperationalError):
        get_or_compute("public:never-cached", database_down, stale_if_error=True)
