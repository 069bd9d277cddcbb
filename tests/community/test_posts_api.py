import pytest

from community.models import Post, Tag
from tests.accounts.factories import StudentFactory, TutorFactory
from tests.community.factories import PostFactory

pytestmark = pytest.mark.django_db

POSTS = "/api/v1/community/posts"


def post_url(post_id):
    return f"{POSTS}/{post_id}"


def test_create_normalizes_tags_and_counts_them(client_for, student, committed):
    with committed():
        response = client_for(student).post(
            POSTS,
            {"title": "Derivatives", "body": "How?", "kind": "question", "tags": [" Calculus ", "calculus", "EXAMS"]},
        )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["tags"] == ["calculus", "exams"]
    assert body["author"] == {"id": student.id, "display_name": student.display_name}
    assert body["kind"] == "question" and body["my_reaction"] is None
    assert dict(Tag.objects.values_list("name", "post_count")) == {"calculus": 1, "exams": 1}


def test_reads_are_public_writes_need_auth(api_client):
    post = PostFactory()
    assert api_client.get(POSTS).status_code == 200
    assert api_client.get(post_url(post.id)).status_code == 200
    assert api_client.get(f"{post_url(post.id)}/comments").status_code == 200
    assert api_client.get("/api/v1/community/tags").status_code == 200
    response = api_client.post(POSTS, {"title": "t", "body": "b"})
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"
    assert api_client.get("/api/v1/community/feed").status_code == 401


def test_six_tags_is_400(client_for, student):
    response = client_for(student).post(POSTS, {"title": "t", "body": "b", "tags": [f"t{i}" for i in range(6)]})
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error" and "tags" in response.json()["fields"]
    assert not Post.objects.exists() and not Tag.objects.exists()


def test_five_tags_after_deduplication_are_fine(client_for, student):
    tags = ["a", "b", "c", "d", "e", "A ", " e"]
    assert client_for(student).post(POSTS, {"title": "t", "body": "b", "tags": tags}).status_code == 201


@pytest.mark.parametrize("payload", [{"title": "", "body": "b"}, {"title": "t", "body": ""}, {"body": "b"}])
def test_empty_title_or_body_is_400(client_for, student, payload):
    response = client_for(student).post(POSTS, payload)
    assert response.status_code == 400 and response.json()["code"] == "validation_error"


def test_bad_kind_and_filters_are_400(client_for, student, api_client):
    assert client_for(student).post(POSTS, {"title": "t", "body": "b", "kind": "poll"}).status_code == 400
    assert api_client.get(POSTS, {"ordering": "random"}).status_code == 400
    assert api_client.get(POSTS, {"author": "x"}).status_code == 400
    response = api_client.get(POSTS, {"cursor": "garbage!"})
    assert response.status_code == 400 and response.json()["code"] == "invalid_cursor"


def test_author_edits_retags_and_counts_follow(client_for, committed):
    post = PostFactory(tags=["old", "kept"])
    with committed():
        response = client_for(post.author).patch(post_url(post.id), {"title": "New title", "tags": ["kept", "new"]})
    assert response.status_code == 200
    assert response.json()["title"] == "New title" and response.json()["tags"] == ["kept", "new"]
    assert dict(Tag.objects.values_list("name", "post_count")) == {"old": 0, "kept": 1, "new": 1}


def test_non_author_edit_and_delete_are_404(client_for):
    post = PostFactory()
    other = client_for(StudentFactory())
    for response in (other.patch(post_url(post.id), {"title": "mine"}), other.delete(post_url(post.id))):
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    post.refresh_from_db()
    assert post.deleted_at is None and post.title != "mine"


def test_staff_may_edit_and_delete_any_post(client_for):
    post = PostFactory(tags=["x"])
    staff = client_for(StudentFactory(is_staff=True))
    assert staff.patch(post_url(post.id), {"body": "moderated"}).status_code == 200
    assert staff.delete(post_url(post.id)).status_code == 204
    assert Tag.objects.get(name="x").post_count == 0


def test_author_soft_deletes(client_for, api_client, committed):
    post = PostFactory(tags=["x"])
    with committed():
        assert client_for(post.author).delete(post_url(post.id)).status_code == 204
    assert Post.objects.filter(pk=post.id, deleted_at__isnull=False).exists()
    assert api_client.get(post_url(post.id)).status_code == 404
    assert client_for(post.author).delete(post_url(post.id)).status_code == 404
    assert api_client.get(POSTS).json()["results"] == []


def test_filters_tag_author_kind(api_client):
    tutor = TutorFactory()
    maths = PostFactory(tags=["maths"], author=tutor)
    question = PostFactory(kind="question", tags=["Maths"])
    other = PostFactory(tags=["art"])

    def ids(**params):
        return [row["id"] for row in api_client.get(POSTS, params).json()["results"]]

    assert ids() == [other.id, question.id, maths.id]
    assert ids(tag=" MATHS") == [question.id, maths.id]
    assert ids(author=tutor.id) == [maths.id]
    assert ids(kind="question") == [question.id]
    assert ids(tag="maths", kind="discussion") == [maths.id]


def test_excerpt_is_cut(api_client, settings):
    settings.COMMUNITY_EXCERPT_LENGTH = 10
    PostFactory(body="0123456789abcdef")
    row = api_client.get(POSTS).json()["results"][0]
    assert row["excerpt"] == "0123456789" and "body" not in row


@pytest.mark.parametrize("ordering", ["new", "top", "trending"])
def test_cursor_walks_every_post_once_in_both_directions(api_client, ordering):
    posts = PostFactory.create_batch(7)
    # equal keys everywhere (0 reactions, same score): the id tiebreaker keeps pages disjoint
    Post.objects.update(created_at=posts[0].created_at, trending_score=1.0)
    seen, pages, url = [], [], POSTS
    while url:
        body = api_client.get(url, {"ordering": ordering, "page_size": 3} if url == POSTS else None).json()
        pages.append([row["id"] for row in body["results"]])
        seen += pages[-1]
        last, url = body, body["next"]
    assert sorted(seen) == sorted(p.id for p in posts) and len(seen) == 7
    assert seen == sorted(seen, reverse=True)
    back = api_client.get(last["previous"]).json()
    assert [row["id"] for row in back["results"]] == pages[-2]
