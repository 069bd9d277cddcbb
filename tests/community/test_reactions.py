import random
import threading

import pytest
from django.db import connection

from community import services
from community.models import Post, Reaction
from tests.accounts.factories import StudentFactory
from tests.community.factories import PostFactory

POSTS = "/api/v1/community/posts"


@pytest.mark.django_db
def test_put_creates_then_changes_kind_delete_removes(client_for, student):
    post = PostFactory()
    client = client_for(student)
    url = f"{POSTS}/{post.id}/reaction"
    assert client.put(url, {"kind": "like"}).json() == {"post": post.id, "kind": "like", "reaction_count": 1}
    assert client.put(url, {"kind": "thanks"}).json() == {"post": post.id, "kind": "thanks", "reaction_count": 1}
    assert client.get(f"{POSTS}/{post.id}").json()["my_reaction"] == "thanks"
    assert client.delete(url).status_code == 204
    assert client.delete(url).status_code == 204
    post.refresh_from_db()
    assert post.reaction_count == 0 and not Reaction.objects.exists()


@pytest.mark.django_db
def test_bad_kind_is_400_and_unknown_post_404(client_for, student):
    post = PostFactory()
    assert client_for(student).put(f"{POSTS}/{post.id}/reaction", {"kind": "love"}).status_code == 400
    assert client_for(student).put(f"{POSTS}/999999/reaction", {"kind": "like"}).status_code == 404


@pytest.mark.django_db
def test_my_reaction_is_per_caller_on_a_shared_cached_page(client_for, api_client, committed):
    posts = PostFactory.create_batch(3)
    alice, bob = StudentFactory(), StudentFactory()
    with committed():
        services.reaction_set(post_id=posts[0].id, user=alice, kind="like")
        services.reaction_set(post_id=posts[1].id, user=bob, kind="insightful")
    assert [r["my_reaction"] for r in api_client.get(POSTS).json()["results"]] == [None, None, None]
    assert [r["my_reaction"] for r in client_for(alice).get(POSTS).json()["results"]] == [None, None, "like"]
    assert [r["my_reaction"] for r in client_for(bob).get(POSTS).json()["results"]] == [None, "insightful", None]
    assert [r["reaction_count"] for r in api_client.get(POSTS).json()["results"]] == [0, 1, 1]


def _run_threads(targets):
    errors = []

    def wrap(target):
        def run():
            try:
                target()
            except Exception as exc:  # noqa: BLE001 - reported to the test below
                errors.append(exc)
            finally:
                connection.close()

        return run

    threads = [threading.Thread(target=wrap(target)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_reactions_count_exactly_fifty():
    post = PostFactory()
    users = StudentFactory.create_batch(50)
    barrier = threading.Barrier(50)

    def react(user):
        def run():
            barrier.wait()
            services.reaction_set(post_id=post.id, user=user, kind="like")

        return run

    _run_threads([react(user) for user in users])
    post.refresh_from_db()
    assert post.reaction_count == 50 == Reaction.objects.filter(post=post).count()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_toggles_never_drift_the_counter():
    post = PostFactory()
    users = StudentFactory.create_batch(10)
    barrier = threading.Barrier(50)

    def toggle(user, seed):
        rng = random.Random(seed)

        def run():
            barrier.wait()
            for _ in range(6):
                if rng.random() < 0.5:
                    services.reaction_set(post_id=post.id, user=user, kind=rng.choice(["like", "thanks"]))
                else:
                    services.reaction_remove(post_id=post.id, user=user)

        return run

    # five threads per user: the same user's PUT and DELETE race each other
    _run_threads([toggle(users[i % 10], i) for i in range(50)])
    post.refresh_from_db()
    assert post.reaction_count == Reaction.objects.filter(post=post).count()
    assert Post.objects.get(pk=post.id).reaction_count <= 10
