"""Every list costs the same number of queries for 10 and 100 items, cold cache, warm cache
and with caching switched off (CACHES_ENABLED=False)."""

import pytest
from rest_framework.test import APIClient

from community import services
from community.models import Comment
from tests.accounts.factories import StudentFactory
from tests.community.factories import PostFactory

pytestmark = pytest.mark.django_db

POSTS = "/api/v1/community/posts"


@pytest.fixture
def viewer():
    return StudentFactory()


def _posts(count, viewer):
    author = StudentFactory()
    services.follow_create(follower=viewer, user_id=author.id)
    posts = [PostFactory(author=author, title=f"Alpha {i}", tags=[f"tag{i % 7}", "common"]) for i in range(count)]
    for post in posts[::2]:
        services.reaction_set(post_id=post.id, user=viewer, kind="like")
    return posts


def _as(user):
    # force_authenticate: the token lookup is the auth layer's query, not the list's
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def _get(client, url, page_size, **params):
    response = client.get(url, {"page_size": page_size, **params})
    assert response.status_code == 200
    return response.json()["results"]


# (cold, warm) per caller: the page + its tags prefetch, cached as one shared entry; a signed-in
# caller adds one query that merges their reactions onto it.
@pytest.mark.parametrize("page_size", [10, 100])
@pytest.mark.parametrize("anonymous, cold, warm", [(True, 2, 0), (False, 3, 1)])
@pytest.mark.parametrize("params", [{}, {"tag": "common"}, {"ordering": "top"}, {"ordering": "trending"}])
def test_posts_list(api_client, viewer, django_assert_num_queries, page_size, anonymous, cold, warm, params):
    _posts(page_size, viewer)
    client = api_client if anonymous else _as(viewer)
    with django_assert_num_queries(cold):
        rows = _get(client, POSTS, page_size, **params)
    with django_assert_num_queries(warm):
        assert _get(client, POSTS, page_size, **params) == rows
    assert len(rows) == page_size
    assert sum(row["my_reaction"] == "like" for row in rows) == (0 if anonymous else page_size // 2)


@pytest.mark.parametrize("page_size", [10, 100])
def test_posts_list_uncached_and_search(viewer, django_assert_num_queries, settings, page_size):
    _posts(page_size, viewer)
    settings.CACHES_ENABLED = False
    client = _as(viewer)
    for _ in range(2):
        with django_assert_num_queries(3):
            assert len(_get(client, POSTS, page_size)) == page_size
    settings.CACHES_ENABLED = True
    # Searches are never cached; one query tests the bounded window of newest posts (on
    # PostgreSQL; SQLite filters in the page query), then the page, its tags, the reactions.
    with django_assert_num_queries(4 if settings.USING_POSTGRES else 3):
        assert len(_get(client, POSTS, page_size, q="alpha")) == page_size


@pytest.mark.parametrize("page_size", [10, 100])
def test_feed(viewer, django_assert_num_queries, page_size):
    _posts(page_size, viewer)
    client = _as(viewer)
    for _ in range(2):  # private: never cached
        with django_assert_num_queries(3):
            assert len(_get(client, "/api/v1/community/feed", page_size)) == page_size


@pytest.mark.parametrize("page_size", [10, 100])
@pytest.mark.parametrize("cache_enabled, cold, warm", [(True, 3, 1), (False, 3, 3)])
def test_comments(api_client, django_assert_num_queries, settings, page_size, cache_enabled, cold, warm):
    settings.CACHES_ENABLED = cache_enabled
    post = PostFactory()
    authors = StudentFactory.create_batch(3)
    for i in range(page_size):
        comment = services.comment_create(post_id=post.id, author=authors[i % 3], body=f"c{i}")
        services.comment_create(post_id=post.id, author=authors[(i + 1) % 3], body="reply", parent_id=comment.id)
    url = f"{POSTS}/{post.id}/comments"
    # visibility check, page, replies (with their authors)
    with django_assert_num_queries(cold):
        rows = _get(api_client, url, page_size)
    with django_assert_num_queries(warm):
        assert _get(api_client, url, page_size) == rows
    assert len(rows) == page_size and all(len(row["replies"]) == 1 for row in rows)
    assert Comment.objects.count() == 2 * page_size


@pytest.mark.parametrize("page_size", [10, 100])
@pytest.mark.parametrize("cache_enabled, cold, warm", [(True, 1, 0), (False, 1, 1)])
def test_tags(api_client, django_assert_num_queries, settings, page_size, cache_enabled, cold, warm):
    settings.CACHES_ENABLED = cache_enabled
    for i in range(page_size):
        PostFactory(tags=[f"t{i}"])
    with django_assert_num_queries(cold):
        rows = _get(api_client, "/api/v1/community/tags", page_size)
    with django_assert_num_queries(warm):
        assert _get(api_client, "/api/v1/community/tags", page_size) == rows
    assert len(rows) == page_size
