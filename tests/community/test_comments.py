import pytest

from community.models import Post
from tests.accounts.factories import StudentFactory
from tests.community.factories import PostFactory, QuestionFactory

pytestmark = pytest.mark.django_db

POSTS = "/api/v1/community/posts"


def comments_url(post_id):
    return f"{POSTS}/{post_id}/comments"


def test_comments_and_one_level_of_replies(client_for, api_client, student, committed):
    post = PostFactory()
    client = client_for(student)
    with committed():
        first = client.post(comments_url(post.id), {"body": "first"}).json()
        reply = client.post(comments_url(post.id), {"body": "reply", "parent": first["id"]})
        second = client.post(comments_url(post.id), {"body": "second"}).json()
    assert reply.status_code == 201
    deeper = client.post(comments_url(post.id), {"body": "deeper", "parent": reply.json()["id"]})
    assert deeper.status_code == 400 and deeper.json()["code"] == "reply_depth_exceeded"
    body = api_client.get(comments_url(post.id)).json()
    assert [c["id"] for c in body["results"]] == [first["id"], second["id"]]
    assert [r["body"] for r in body["results"][0]["replies"]] == ["reply"]
    assert Post.objects.get(pk=post.id).comment_count == 3


def test_parent_from_another_post_is_400(client_for, student):
    other = client_for(student).post(comments_url(PostFactory().id), {"body": "x"}).json()
    response = client_for(student).post(comments_url(PostFactory().id), {"body": "y", "parent": other["id"]})
    assert response.status_code == 400 and "parent" in response.json()["fields"]


def test_comments_paginate_oldest_first(client_for, api_client, student):
    post = PostFactory()
    ids = [client_for(student).post(comments_url(post.id), {"body": str(i)}).json()["id"] for i in range(5)]
    first = api_client.get(comments_url(post.id), {"page_size": 2}).json()
    second = api_client.get(first["next"]).json()
    assert [c["id"] for c in first["results"]] == ids[:2]
    assert [c["id"] for c in second["results"]] == ids[2:4]


def test_comment_edit_delete_author_or_staff_only(client_for, student, committed):
    post = PostFactory()
    comment = client_for(student).post(comments_url(post.id), {"body": "mine"}).json()
    url = f"{comments_url(post.id)}/{comment['id']}"
    stranger = client_for(StudentFactory())
    assert stranger.patch(url, {"body": "hacked"}).status_code == 404
    assert stranger.delete(url).status_code == 404
    assert client_for(student).patch(url, {"body": "edited"}).json()["body"] == "edited"
    with committed():
        assert client_for(StudentFactory(is_staff=True)).delete(url).status_code == 204
    assert Post.objects.get(pk=post.id).comment_count == 0
    assert client_for(student).get(comments_url(post.id)).json()["results"] == []


def test_accepted_answer_question_author_only_one_at_a_time(client_for, committed, api_client):
    question = QuestionFactory()
    answerer = client_for(StudentFactory())
    a = answerer.post(comments_url(question.id), {"body": "a"}).json()
    b = answerer.post(comments_url(question.id), {"body": "b"}).json()
    url = f"{POSTS}/{question.id}/accept-answer"
    assert answerer.post(url, {"comment": a["id"]}).status_code == 404
    author = client_for(question.author)
    with committed():
        assert author.post(url, {"comment": a["id"]}).json()["accepted_comment"] == a["id"]
    with committed():
        assert author.post(url, {"comment": b["id"]}).json()["accepted_comment"] == b["id"]
    accepted = [c["id"] for c in api_client.get(comments_url(question.id)).json()["results"] if c["is_accepted"]]
    assert accepted == [b["id"]]
    assert author.post(url, {"comment": None}).json()["accepted_comment"] is None


def test_accept_answer_refused_on_discussion_and_foreign_comment(client_for):
    discussion = PostFactory()
    comment = client_for(StudentFactory()).post(comments_url(discussion.id), {"body": "a"}).json()
    url = f"{POSTS}/{discussion.id}/accept-answer"
    response = client_for(discussion.author).post(url, {"comment": comment["id"]})
    assert response.status_code == 400 and response.json()["code"] == "not_a_question"
    question = QuestionFactory()
    response = client_for(question.author).post(f"{POSTS}/{question.id}/accept-answer", {"comment": comment["id"]})
    assert response.status_code == 400 and "comment" in response.json()["fields"]
