"""Public reads cannot hold a worker: their statements run under a timeout (503 `query_timeout`,
never 500), and one client runs at most EXPENSIVE_READS_PER_CLIENT searches at once (issue: one
address at 3 searches/s held every worker thread). Real PostgreSQL, Redis and threads: the
searches are held inside the database by a lock another connection takes."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from django.db import connection, connections
from rest_framework.exceptions import Throttled
from rest_framework.test import APIClient

from tests.community.factories import PostFactory
from tests.core.cache.conftest import throwaway_redis  # noqa: F401  (fixture)
from wemaster.core.throttles import expensive_read_slot

POSTS = "/api/v1/community/posts"


def _statement_timeout() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        return cursor.fetchone()[0]


class PostsLocked:
    """Another session holds an ACCESS EXCLUSIVE lock on the posts table: every read of it waits."""

    def __enter__(self):
        database = connection.settings_dict
        self.session = psycopg.connect(
            dbname=database["NAME"], user=database["USER"], host=database["HOST"], port=database["PORT"]
        )
        self.session.execute("BEGIN")
        self.session.execute("LOCK TABLE community_post IN ACCESS EXCLUSIVE MODE")
        return self

    def __exit__(self, *exc):
        self.session.rollback()
        self.session.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_public_read_past_its_statement_timeout_is_503_and_the_setting_does_not_leak(api_client, settings):
    settings.PUBLIC_READ_STATEMENT_TIMEOUT_MS = 300
    post = PostFactory()
    default = _statement_timeout()
    with PostsLocked():
        started = time.monotonic()
        response = api_client.get(f"{POSTS}/{post.id}")
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.json()["code"] == "query_timeout"
    assert elapsed < 2.0
    assert _statement_timeout() == default  # reset before the connection is used again
    assert api_client.get(f"{POSTS}/{post.id}").status_code == 200


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_private_reads_and_writes_do_not_get_the_public_deadline(client_for, student, settings):
    settings.PUBLIC_READ_STATEMENT_TIMEOUT_MS = 300
    client = client_for(student)
    holder = PostsLocked().__enter__()
    release = threading.Timer(0.8, holder.__exit__, args=(None, None, None))
    release.start()
    try:
        response = client.post(POSTS, {"title": "Waits", "body": "for the lock", "kind": "discussion"})
    finally:
        release.join()
    assert response.status_code == 201  # waited 0.8 s, longer than the public reads' timeout


def _search(remote_addr: str, results: list, index: int, q: str = "integrals"):
    try:
        client = APIClient()
        results[index] = client.get(POSTS, {"q": q}, REMOTE_ADDR=remote_addr)
    finally:
        connections.close_all()


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_one_client_runs_at_most_n_searches_at_once(settings):
    settings.EXPENSIVE_READS_PER_CLIENT = 2
    settings.PUBLIC_READ_STATEMENT_TIMEOUT_MS = 10_000
    PostFactory(title="Integrals explained")
    results: list = [None] * 7
    with ThreadPoolExecutor(max_workers=7) as pool, PostsLocked():
        held = [pool.submit(_search, "198.51.100.7", results, index) for index in range(2)]
        time.sleep(1.0)  # both are waiting inside the database, each holding a slot
        refused = [pool.submit(_search, "198.51.100.7", results, index) for index in range(2, 6)]
        for future in refused:
            future.result(timeout=10)
        other_client = pool.submit(_search, "203.0.113.9", results, 6)
        time.sleep(0.5)
        assert results[6] is None  # another address is not refused: it waits like the first two
        assert all(results[index].status_code == 429 for index in range(2, 6))
        assert all(results[index] is None for index in range(2))
    for future in [*held, other_client]:
        future.result(timeout=10)
    statuses = [results[index].status_code for index in range(7)]
    assert statuses == [200, 200, 429, 429, 429, 429, 200]
    assert results[2].json()["code"] == "throttled" and results[2]["Retry-After"] == "1"
    assert results[0].json()["results"][0]["title"] == "Integrals explained"
    # The slots were given back: the same client searches again at once.
    assert APIClient().get(POSTS, {"q": "integrals"}, REMOTE_ADDR="198.51.100.7").status_code == 200


@pytest.mark.redis
def test_a_slot_a_dead_worker_kept_expires(settings):
    settings.EXPENSIVE_READS_PER_CLIENT = 1
    settings.EXPENSIVE_READ_SLOT_SECONDS = 1
    held = expensive_read_slot("search", "198.51.100.7")
    held.__enter__()  # never left: the worker died with it
    with pytest.raises(Throttled):
        with expensive_read_slot("search", "198.51.100.7"):
            pass
    time.sleep(1.1)
    with expensive_read_slot("search", "198.51.100.7"):
        pass


@pytest.mark.django_db(transaction=True)
def test_the_concurrency_limit_fails_open_when_redis_is_down(throwaway_redis, api_client, settings):  # noqa: F811
    settings.EXPENSIVE_READS_PER_CLIENT = 1
    settings.REDIS_CONFIGURED = True
    with expensive_read_slot("search", "198.51.100.7"):
        with pytest.raises(Throttled):
            with expensive_read_slot("search", "198.51.100.7"):
                pass
    throwaway_redis.kill()
    with expensive_read_slot("search", "198.51.100.7"), expensive_read_slot("search", "198.51.100.7"):
        pass
    assert api_client.get(POSTS, {"q": "anything"}).status_code == 200


def test_rate_limits_off_switches_the_concurrency_limit_off_too(settings):
    settings.RATE_LIMITS_ENABLED = False
    settings.EXPENSIVE_READS_PER_CLIENT = 1
    with expensive_read_slot("search", "x"), expensive_read_slot("search", "x"):
        pass
