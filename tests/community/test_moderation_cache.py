"""Hidden and deleted content leaves every list, feed, detail and cached page at once."""

import pytest
from django.contrib.admin.sites import site
from django.test import RequestFactory

from community import services
from community.admin import ReportAdmin
from community.models import Comment, Post, Report, ReportStatus, Tag
from tests.accounts.factories import StudentFactory
from tests.community.factories import PostFactory

pytestmark = pytest.mark.django_db

POSTS = "/api/v1/community/posts"
TAGS = "/api/v1/community/tags"


def ids(client, url=POSTS, **params):
    return [row["id"] for row in client.get(url, params).json()["results"]]


def test_report_once_per_user_repeat_is_idempotent(client_for, student):
    post = PostFactory()
    url = f"{POSTS}/{post.id}/report"
    first = client_for(student).post(url, {"reason": "spam"})
    again = client_for(student).post(url, {"reason": "different words"})
    assert first.status_code == 201 and first.json()["status"] == "pending"
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert again.json()["reason"] == "spam"
    assert client_for(StudentFactory()).post(url, {"reason": "spam"}).status_code == 201
    assert client_for(student).post(url, {"reason": ""}).status_code == 400
    assert client_for(student).post(f"{POSTS}/999999/report", {"reason": "x"}).status_code == 404


def test_comment_report(client_for, student):
    post = PostFactory()
    comment = client_for(student).post(f"{POSTS}/{post.id}/comments", {"body": "rude"}).json()
    response = client_for(StudentFactory()).post(f"/api/v1/community/comments/{comment['id']}/report", {"reason": "x"})
    assert response.status_code == 201 and response.json()["comment"] == comment["id"]


def _admin_action(action, reports, moderator):
    request = RequestFactory().post("/admin/")
    request.user = moderator
    request._messages = type("Messages", (), {"add": lambda *args, **kwargs: None})()
    getattr(ReportAdmin(Report, site), action)(request, Report.objects.filter(pk__in=[r.id for r in reports]))


@pytest.mark.parametrize("cache_enabled", [True, False])
def test_hidden_post_vanishes_from_cached_lists_feed_detail_and_tags(
    client_for, api_client, committed, settings, cache_enabled
):
    settings.CACHES_ENABLED = cache_enabled
    author = StudentFactory()
    follower = client_for(StudentFactory())
    follower.post("/api/v1/community/follows", {"user": author.id})
    post = PostFactory(author=author, tags=["rust"])
    staff = StudentFactory(is_staff=True)
    report, _ = services.report_create(reporter=StudentFactory(), post_id=post.id, reason="spam")
    # warm every cached page
    for params in ({}, {"tag": "rust"}, {"author": author.id}, {"ordering": "top"}, {"ordering": "trending"}):
        assert ids(api_client, **params) == [post.id]
    assert ids(api_client, TAGS) == [Tag.objects.get(name="rust").id]

    with committed():
        _admin_action("hide_content", [report], staff)

    for params in ({}, {"tag": "rust"}, {"author": author.id}, {"ordering": "top"}, {"ordering": "trending"}):
        assert ids(api_client, **params) == []
    assert ids(follower, "/api/v1/community/feed") == []
    assert ids(api_client, TAGS) == []
    assert api_client.get(f"{POSTS}/{post.id}").status_code == 404
    assert client_for(author).get(f"{POSTS}/{post.id}").status_code == 404
    assert client_for(staff).get(f"{POSTS}/{post.id}").json()["is_hidden"] is True
    assert client_for(author).patch(f"{POSTS}/{post.id}", {"title": "sneaky"}).status_code == 404
    report.refresh_from_db()
    assert report.status == ReportStatus.ACTIONED and report.resolved_by == staff

    with committed():
        _admin_action("restore_content", [report], staff)
    assert ids(api_client) == [post.id]
    assert Tag.objects.get(name="rust").post_count == 1


def test_deleted_post_vanishes_from_cached_pages(client_for, api_client, committed):
    keep, gone = PostFactory(tags=["go"]), PostFactory(tags=["go"])
    assert ids(api_client, tag="go") == [gone.id, keep.id]
    assert ids(api_client) == [gone.id, keep.id]
    with committed():
        client_for(gone.author).delete(f"{POSTS}/{gone.id}")
    assert ids(api_client, tag="go") == [keep.id]
    assert ids(api_client) == [keep.id]
    assert api_client.get(TAGS).json()["results"][0]["post_count"] == 1


def test_cached_page_reflects_new_posts_and_counters_after_commit(client_for, api_client, committed, student):
    first = PostFactory()
    assert ids(api_client) == [first.id]
    with committed():
        second = PostFactory()
    assert ids(api_client) == [second.id, first.id]
    with committed():
        client_for(student).put(f"{POSTS}/{first.id}/reaction", {"kind": "like"})
        client_for(student).post(f"{POSTS}/{first.id}/comments", {"body": "hi"})
    rows = {row["id"]: row for row in api_client.get(POSTS).json()["results"]}
    assert (rows[first.id]["reaction_count"], rows[first.id]["comment_count"]) == (1, 1)
    assert ids(api_client, ordering="top") == [first.id, second.id]


def test_hidden_comment_vanishes_and_uncounts(client_for, api_client, committed, student):
    post = PostFactory()
    comment = client_for(student).post(f"{POSTS}/{post.id}/comments", {"body": "rude"}).json()
    assert len(api_client.get(f"{POSTS}/{post.id}/comments").json()["results"]) == 1
    report, _ = services.report_create(reporter=StudentFactory(), comment_id=comment["id"], reason="rude")
    with committed():
        _admin_action("hide_content", [report], StudentFactory(is_staff=True))
    assert api_client.get(f"{POSTS}/{post.id}/comments").json()["results"] == []
    assert Post.objects.get(pk=post.id).comment_count == 0
    assert Comment.objects.get(pk=comment["id"]).is_hidden


def test_dismiss_leaves_content(committed):
    post = PostFactory()
    report, _ = services.report_create(reporter=StudentFactory(), post_id=post.id, reason="meh")
    _admin_action("dismiss", [report], StudentFactory(is_staff=True))
    report.refresh_from_db()
    assert report.status == ReportStatus.DISMISSED
    assert not Post.objects.get(pk=post.id).is_hidden
