"""Keys a client chooses cannot fill Redis: filter values are checked before any cache lookup,
keys hold a hash of them, a filter nothing matches is not stored, and a family's entries whose key
a client can vary are capped (wemaster/core/cache/keys.py)."""

import random
import string

import pytest
from django.core.cache import caches

from tests.accounts.factories import StudentFactory, TutorFactory
from tests.community.factories import PostFactory
from wemaster.accounts.services import subjects_resolve
from wemaster.core.cache.keys import INDEX_PREFIX, params_key

POSTS = "/api/v1/community/posts"
TUTORS = "/api/v1/tutors"


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    settings.RATE_LIMITS_ENABLED = False  # one client sends a thousand requests on purpose


def redis():
    return caches["default"].client.get_client(write=True)


def entries(family_prefix: str) -> dict[bytes, int]:
    """Redis key -> MEMORY USAGE of every cache entry whose key starts with `family_prefix`."""
    client = redis()
    return {key: client.memory_usage(key) for key in client.scan_iter(match=f"*:entry:{family_prefix}*", count=1000)}


def random_text(length: int) -> str:
    return "".join(random.choices(string.ascii_lowercase + string.digits + " -", k=length)).strip() or "x"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        (POSTS, {"tag": "x" * 41}, "tag"),
        (POSTS, {"tag": "rust\x07"}, "tag"),
        (POSTS, {"tag": "a\u200bb"}, "tag"),  # a format character: invisible, not printable
        (POSTS, {"q": "\x1b[31m"}, "q"),
        (POSTS, {"q": "y" * 201}, "q"),
        (POSTS, {"author": "99999999999999999999"}, "author"),
        (POSTS, {"author": "-1"}, "author"),
        (POSTS, {"kind": "poll"}, "kind"),
        (POSTS, {"ordering": "random()"}, "ordering"),
        (POSTS, {"page_size": "1e3"}, "page_size"),
        (TUTORS, {"subject": "s" * 61}, "subject"),
        (TUTORS, {"subject": "algebra\u202e"}, "subject"),
        (TUTORS, {"page_size": "0"}, "page_size"),
        # refused by the edge checks, before any view: NUL, and a 58 KiB value (the issue's)
        (TUTORS, {"subject": "alg\x00ebra"}, "invalid_query"),
        (TUTORS, {"subject": "s" * 58 * 1024}, "uri_too_long"),
    ],
)
def test_bad_filter_values_are_refused_before_any_cache_lookup(
    api_client, django_assert_num_queries, url, params, field
):
    calls = []
    cache = caches["default"]
    original = cache.get_many
    cache.get_many = lambda *args, **kwargs: calls.append(args) or original(*args, **kwargs)
    try:
        with django_assert_num_queries(0):
            response = api_client.get(url, params)
    finally:
        del cache.get_many
    body = response.json()
    if field in ("invalid_query", "uri_too_long"):
        assert body["code"] == field and response.status_code in (400, 414)
    else:
        assert response.status_code == 400
        assert body["code"] == "validation_error" and field in body["fields"]
    assert calls == []  # no cache entry was looked up, none stored


def test_keys_hold_a_hash_of_the_normalized_parameters():
    key = params_key("community:posts", tag="rust", author=None, page_size=20)
    assert "rust" not in key and key.startswith("community:posts:")
    assert key == params_key("community:posts", page_size=20, author=None, tag="rust")  # order does not matter
    assert len(params_key("community:posts", tag="r" * 40)) == len(key)


@pytest.mark.redis
@pytest.mark.django_db
def test_a_thousand_unknown_filter_values_add_no_entry(api_client):
    post = PostFactory(tags=["rust"])
    TutorFactory()
    assert api_client.get(POSTS).json()["results"][0]["id"] == post.id  # the default page is cached
    assert api_client.get(TUTORS).status_code == 200
    before = {**entries("community:posts"), **entries("tutor_directory")}
    for index in range(500):
        tag = random_text(40)
        assert api_client.get(POSTS, {"tag": tag}).json()["results"] == []
        # the directory takes catalog subjects only: an unknown one is a 400, never a key
        unknown = api_client.get(TUTORS, {"subject": f"{random_text(50)}{index}"})
        assert unknown.status_code == 400 and unknown.json()["fields"].keys() == {"subject"}
    after = {**entries("community:posts"), **entries("tutor_directory")}
    assert after.keys() == before.keys()
    assert sum(after.values()) == sum(before.values())


@pytest.mark.redis
@pytest.mark.django_db
def test_distinct_matching_filters_are_capped_per_family_and_evicted_oldest_first(api_client, settings):
    """1000 requests, every one a different (author, page size) that matches posts: the family keeps
    at most CACHE_PARAM_KEYS_PER_FAMILY entries, and Redis memory stays within that many pages."""
    settings.CACHE_PARAM_KEYS_PER_FAMILY = 20
    authors = StudentFactory.create_batch(10)
    for author in authors:
        PostFactory(author=author, tags=["rust"], body="b" * 2000)
    api_client.get(POSTS)  # the default page: not counted against the cap
    default_pages = entries("community:posts")
    assert len(default_pages) == 1

    largest = 0
    for page_size in range(1, 101):
        for author in authors:
            response = api_client.get(POSTS, {"author": author.id, "page_size": page_size})
            assert [row["author"]["id"] for row in response.json()["results"]] == [author.id]
        found = entries("community:posts")
        largest = max([largest, *found.values()])
        assert len(found) <= 20 + len(default_pages)
    assert redis().zcard(caches["default"].make_key(INDEX_PREFIX + "community_posts")) == 20
    found = entries("community:posts")
    assert default_pages.keys() <= found.keys()  # the flood did not evict the default page
    assert sum(found.values()) <= (20 + len(default_pages)) * largest
    # the newest are the ones kept: the last request is a hit, the first is computed again
    last = params_key("community:posts", ordering="new", kind=None, tag=None, author=authors[-1].id, page_size=100)
    first = params_key("community:posts", ordering="new", kind=None, tag=None, author=authors[0].id, page_size=1)
    keys = {key.decode().split(":entry:", 1)[1] for key in found}
    assert last in keys and first not in keys
    response = api_client.get(POSTS, {"author": authors[0].id, "page_size": 1})
    assert [row["author"]["id"] for row in response.json()["results"]] == [authors[0].id]


@pytest.mark.redis
@pytest.mark.django_db
def test_tutor_directory_keys_come_from_the_catalog_only(api_client, client_for):
    """The directory's cached first pages are keyed by catalog subject ids (a closed set staff
    keep): as many entries as subjects asked for, and subjects outside the catalog add none."""
    subjects_resolve([f"subject {index}" for index in range(8)])
    for index in range(8):
        tutor = TutorFactory()
        profile = {"hourly_rate": "30.00", "subjects": [f"subject {index}"]}
        assert client_for(tutor).patch("/api/v1/me", {"tutor_profile": profile}, format="json").status_code == 200
    for index in range(8):
        response = api_client.get(TUTORS, {"subject": f"Subject {index}"})
        assert len(response.json()["results"]) == 1
    assert len(entries("tutor_directory")) == 8
    for index in range(50):
        assert api_client.get(TUTORS, {"subject": f"subject x{index}"}).status_code == 400
    assert len(entries("tutor_directory")) == 8
