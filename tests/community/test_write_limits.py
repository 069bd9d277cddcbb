"""Every community write has its own rate (issue: 200 comments in 2.3 s, each emptying every
cached post list; 300 Tag rows in 2.3 s through follows of new tags; unlimited reports), and a
comment or reaction empties only the cached lists that can hold its post."""

import pytest

from community.models import Follow, Tag
from tests.accounts.factories import StudentFactory
from tests.community.factories import PostFactory

pytestmark = pytest.mark.django_db

POSTS = "/api/v1/community/posts"


def _limit(settings, scope: str, rate: str):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], scope: rate},
    }


def _statuses(send, count):
    return [send(attempt).status_code for attempt in range(count)]


def _assert_throttled(response):
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) >= 1


def test_comments_are_limited_per_user(client_for, student, settings):
    _limit(settings, "comment_create", "3/min")
    post = PostFactory()
    client = client_for(student)
    url = f"{POSTS}/{post.id}/comments"
    assert _statuses(lambda attempt: client.post(url, {"body": f"comment {attempt}"}), 3) == [201] * 3
    _assert_throttled(client.post(url, {"body": "one more"}))
    assert client.get(url).status_code == 200  # reading is not a comment
    assert client_for(StudentFactory()).post(url, {"body": "someone else"}).status_code == 201


def test_reactions_are_limited_per_user(client_for, student, settings):
    _limit(settings, "reaction", "2/min")
    post = PostFactory()
    client = client_for(student)
    url = f"{POSTS}/{post.id}/reaction"
    assert client.put(url, {"kind": "like"}).status_code == 200
    assert client.delete(url).status_code == 204
    _assert_throttled(client.put(url, {"kind": "thanks"}))


def test_follows_are_limited_per_user(client_for, student, settings):
    _limit(settings, "follow_create", "2/min")
    client = client_for(student)
    others = [StudentFactory() for _ in range(3)]
    assert _statuses(lambda attempt: client.post("/api/v1/community/follows", {"user": others[attempt].id}), 2) == [
        201,
        201,
    ]
    _assert_throttled(client.post("/api/v1/community/follows", {"user": others[2].id}))
    assert Follow.objects.filter(follower=student).count() == 2


def test_new_tags_are_limited_per_user_whatever_creates_them(client_for, student, settings):
    _limit(settings, "tag_create", "2/hour")
    Tag.objects.create(name="existing")
    client = client_for(student)
    follow = client.post("/api/v1/community/follows", {"tag": "brand-new-1"})
    assert follow.status_code == 201
    post = client.post(POSTS, {"title": "T", "body": "B", "kind": "discussion", "tags": ["brand-new-2", "existing"]})
    assert post.status_code == 201
    _assert_throttled(client.post("/api/v1/community/follows", {"tag": "brand-new-3"}))
    _assert_throttled(client.post(POSTS, {"title": "T", "body": "B", "kind": "discussion", "tags": ["brand-new-4"]}))
    assert not Tag.objects.filter(name__in=["brand-new-3", "brand-new-4"]).exists()
    # Existing tags cost nothing; another user has a budget of their own.
    assert client.post("/api/v1/community/follows", {"tag": "existing"}).status_code == 201
    assert client_for(StudentFactory()).post("/api/v1/community/follows", {"tag": "brand-new-3"}).status_code == 201


def test_reports_are_limited_per_user(client_for, student, settings):
    _limit(settings, "report_create", "2/hour")
    client = client_for(student)
    posts = [PostFactory() for _ in range(3)]
    assert _statuses(lambda attempt: client.post(f"{POSTS}/{posts[attempt].id}/report", {"reason": "spam"}), 2) == [
        201,
        201,
    ]
    _assert_throttled(client.post(f"{POSTS}/{posts[2].id}/report", {"reason": "spam"}))
    comment = client_for(StudentFactory()).post(f"{POSTS}/{posts[0].id}/comments", {"body": "rude"}).json()
    _assert_throttled(client.post(f"/api/v1/community/comments/{comment['id']}/report", {"reason": "rude"}))


def test_a_comment_empties_only_the_cached_lists_that_can_hold_its_post(
    client_for, api_client, committed, student, django_assert_num_queries
):
    author = StudentFactory()
    commented = PostFactory(author=author, tags=["calculus"])
    elsewhere = PostFactory(tags=["chemistry"])
    pages = {
        "front": {},
        "its tag": {"tag": "calculus"},
        "its author": {"author": author.id},
        "its kind": {"kind": "discussion"},
        "trending": {"ordering": "trending"},
        "another tag": {"tag": "chemistry"},
        "another author": {"author": elsewhere.author_id},
    }
    for params in pages.values():
        api_client.get(POSTS, params)  # cached now
    with committed():
        client_for(student).post(f"{POSTS}/{commented.id}/comments", {"body": "nice"})

    for name in ("another tag", "another author"):
        with django_assert_num_queries(0):  # still the cached page
            assert api_client.get(POSTS, pages[name]).status_code == 200, name
    for name in ("front", "its tag", "its author", "its kind", "trending"):
        rows = {row["id"]: row for row in api_client.get(POSTS, pages[name]).json()["results"]}
        assert rows[commented.id]["comment_count"] == 1, name
