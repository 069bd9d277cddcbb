import io
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.utils import timezone

from community import services, tasks
from community.models import Post, Reaction
from community.warmers import WARMERS
from tests.accounts.factories import StudentFactory
from tests.community.factories import PostFactory

pytestmark = pytest.mark.django_db

POSTS = "/api/v1/community/posts"


def test_trending_decays_with_age_and_rises_with_activity(api_client, committed):
    old, fresh, quiet = PostFactory(), PostFactory(), PostFactory()
    Post.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=48))
    for user in StudentFactory.create_batch(3):
        services.reaction_set(post_id=old.id, user=user, kind="like")
    services.comment_create(post_id=fresh.id, author=StudentFactory(), body="!")
    with committed():
        assert tasks.trending_refresh.delay() is not None
    ids = [row["id"] for row in api_client.get(POSTS, {"ordering": "trending"}).json()["results"]]
    # fresh: (0 + 2*1 + 1) / 2**1.5 beats quiet: 1 / 2**1.5 beats old: 4 / 50**1.5
    assert ids == [fresh.id, quiet.id, old.id]
    assert [row["id"] for row in api_client.get(POSTS, {"ordering": "top"}).json()["results"]][0] == old.id


def test_writes_rescore_the_post_and_old_posts_leave_the_window():
    post = PostFactory()
    before = Post.objects.get(pk=post.pk).trending_score
    services.reaction_set(post_id=post.id, user=StudentFactory(), kind="like")
    assert Post.objects.get(pk=post.pk).trending_score > before
    window = django_settings.COMMUNITY_TRENDING_WINDOW_HOURS
    Post.objects.filter(pk=post.pk).update(created_at=timezone.now() - timedelta(hours=window + 1))
    services.trending_refresh()
    assert Post.objects.get(pk=post.pk).trending_score == 0


def test_trending_refresh_is_scheduled():
    entry = django_settings.CELERY_BEAT_SCHEDULE["community-trending-refresh"]
    assert entry["task"] == tasks.trending_refresh.name


def test_warmers_fill_the_front_page_and_tags(api_client, django_assert_num_queries):
    PostFactory(tags=["x"])
    assert set(WARMERS) == {"community_front_page", "community_tags"}
    for warm in WARMERS.values():
        warm()
    with django_assert_num_queries(0):
        api_client.get(POSTS)
        api_client.get(POSTS, {"ordering": "trending"})
        api_client.get("/api/v1/community/tags")


def test_seed_demo_is_idempotent_and_counters_are_exact():
    call_command("seed_demo", stdout=io.StringIO(), stderr=io.StringIO())
    posts = Post.objects.count()
    call_command("seed_demo", stdout=io.StringIO(), stderr=io.StringIO())
    assert Post.objects.count() == posts > 0
    for post in Post.objects.all():
        assert post.reaction_count == Reaction.objects.filter(post=post).count()
        assert post.comment_count == post.comments.filter(is_hidden=False, deleted_at__isnull=True).count()
