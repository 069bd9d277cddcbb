"""Moderation and deletion beat stale-if-error: while PostgreSQL is down, stale community pages
are served without the posts hidden or deleted after they were cached (removal marks in Redis,
checked without the database), and other posts still are."""

import pytest
from django.contrib.admin.sites import site
from django.test import RequestFactory

from community.admin import PostAdmin
from community.models import Post
from tests.accounts.factories import StudentFactory
from tests.accounts.test_tutor_directory_cache import database_down  # noqa: F401 - the fixture
from tests.community.factories import PostFactory

POSTS = "/api/v1/community/posts"


def staff_hides(post, staff):
    request = RequestFactory().post("/admin/")
    request.user = staff
    PostAdmin(Post, site).hide(request, Post.objects.filter(pk=post.id))


def pages(author):
    return {"front": {}, "tag": {"tag": "rust"}, "author": {"author": author.id}, "top": {"ordering": "top"}}


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_hidden_and_deleted_posts_never_come_back_from_a_stale_copy(api_client, client_for, database_down):  # noqa: F811
    author, other = StudentFactory(), StudentFactory()
    kept = PostFactory(author=author, tags=["rust"])
    hidden = PostFactory(author=author, tags=["rust"])
    deleted = PostFactory(author=author, tags=["rust"])
    elsewhere = PostFactory(author=other, tags=["rust"])
    everything = {kept.id, hidden.id, deleted.id, elsewhere.id}
    expected = {"front": everything, "tag": everything, "author": {kept.id, hidden.id, deleted.id}, "top": everything}
    for name, params in pages(author).items():  # cached while all four were visible
        assert {row["id"] for row in api_client.get(POSTS, params).json()["results"]} == expected[name]
    assert api_client.get(f"{POSTS}/{hidden.id}").status_code == 200

    staff_hides(hidden, StudentFactory(is_staff=True))
    assert client_for(author).delete(f"{POSTS}/{deleted.id}").status_code == 204

    database_down()
    for name, params in pages(author).items():
        response = api_client.get(POSTS, params)
        assert response.status_code == 200, name
        assert response["Cache-Status"] == "stale-if-error", name  # the copy from before the removals
        shown = {row["id"] for row in response.json()["results"]}
        assert shown == expected[name] - {hidden.id, deleted.id}, name
    for post in (hidden, deleted):  # details are never cached: unavailable, never the post
        response = api_client.get(f"{POSTS}/{post.id}")
        assert response.status_code == 503 and str(post.title) not in response.content.decode()


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_restored_post_is_served_stale_again(api_client, database_down):  # noqa: F811
    post = PostFactory(tags=["go"])
    assert [row["id"] for row in api_client.get(POSTS, {"tag": "go"}).json()["results"]] == [post.id]
    staff = StudentFactory(is_staff=True)
    staff_hides(post, staff)
    request = RequestFactory().post("/admin/")
    request.user = staff
    PostAdmin(Post, site).restore(request, Post.objects.filter(pk=post.id))
    database_down()
    response = api_client.get(POSTS, {"tag": "go"})
    assert response["Cache-Status"] == "stale-if-error"
    assert [row["id"] for row in response.json()["results"]] == [post.id]
