"""A display-name change shows on every cached community page at once (on commit), not when the
pages' TTL ends; other saves of the user leave those pages cached."""

import time

import pytest

from tests.accounts.factories import StudentFactory
from tests.community.factories import PostFactory

pytestmark = pytest.mark.django_db

POSTS = "/api/v1/community/posts"


def names_on_pages(client, author, post) -> set[str]:
    names = set()
    for params in ({}, {"tag": "rust"}, {"author": author.id}, {"ordering": "trending"}):
        names |= {row["author"]["display_name"] for row in client.get(POSTS, params).json()["results"]}
    comments = client.get(f"{POSTS}/{post.id}/comments").json()["results"]
    return names | {row["author"]["display_name"] for row in comments}


def test_a_rename_reaches_every_cached_page_within_a_second(api_client, client_for, committed):
    author = StudentFactory(display_name="Before")
    post = PostFactory(author=author, tags=["rust"])
    client_for(author).post(f"{POSTS}/{post.id}/comments", {"body": "me again"})
    assert names_on_pages(api_client, author, post) == {"Before"}  # every page cached

    with committed():
        assert client_for(author).patch("/api/v1/me", {"display_name": "After"}).status_code == 200
    renamed_at = time.monotonic()
    assert names_on_pages(api_client, author, post) == {"After"}
    assert time.monotonic() - renamed_at < 1.0


def test_saves_that_leave_the_display_name_alone_keep_the_pages_cached(
    api_client, client_for, committed, django_assert_num_queries
):
    author = StudentFactory()
    PostFactory(author=author, tags=["rust"])
    api_client.get(POSTS)
    with committed():
        client_for(author).patch("/api/v1/me", {"bio": "now with a bio"})
        author.save(update_fields=["last_login"])
    with django_assert_num_queries(0):
        assert api_client.get(POSTS).status_code == 200
