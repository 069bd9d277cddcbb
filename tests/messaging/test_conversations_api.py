"""Conversations over REST: 1:1 uniqueness, groups, leave, list shape and cost."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messaging import services
from messaging.models import Conversation, Membership
from tests.accounts.factories import StudentFactory
from tests.messaging.factories import direct_conversation, group_conversation

pytestmark = pytest.mark.django_db


def test_direct_conversation_created_once_then_returned(client_for, alice, bob):
    first = client_for(alice).post("/api/v1/conversations", {"participant_ids": [bob.id]})
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["kind"] == "direct"
    assert {p["id"] for p in body["participants"]} == {alice.id, bob.id}
    assert body["last_message"] is None and body["unread_count"] == 0

    again = client_for(bob).post("/api/v1/conversations", {"participant_ids": [alice.id]})
    assert again.status_code == 200
    assert again.json()["id"] == body["id"]
    assert Conversation.objects.count() == 1


def test_group_with_title_and_leave(client_for, alice, bob, carol):
    response = client_for(alice).post(
        "/api/v1/conversations", {"participant_ids": [bob.id, carol.id], "title": "Physics"}
    )
    assert response.status_code == 201
    group_id = response.json()["id"]
    assert response.json()["kind"] == "group" and response.json()["title"] == "Physics"

    assert client_for(carol).post(f"/api/v1/conversations/{group_id}/leave").status_code == 204
    assert client_for(carol).get(f"/api/v1/conversations/{group_id}/messages").status_code == 404
    members = client_for(alice).get(f"/api/v1/conversations/{group_id}").json()["participants"]
    assert {p["id"] for p in members} == {alice.id, bob.id}


def test_direct_conversation_cannot_be_left(client_for, alice, bob):
    conversation = direct_conversation(alice, bob)
    response = client_for(alice).post(f"/api/v1/conversations/{conversation.id}/leave")
    assert response.status_code == 400
    assert response.json()["code"] == "cannot_leave_direct"


@pytest.mark.parametrize(
    "body",
    [{"participant_ids": []}, {"participant_ids": [999_999]}, {"participant_ids": "x"}, {}],
)
def test_bad_participants_are_400(client_for, alice, body):
    response = client_for(alice).post("/api/v1/conversations", body)
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


def test_only_yourself_is_400(client_for, alice):
    assert client_for(alice).post("/api/v1/conversations", {"participant_ids": [alice.id]}).status_code == 400


def test_list_newest_activity_first_with_last_message_and_unread(client_for, alice, bob, carol):
    older = direct_conversation(alice, bob)
    newer = direct_conversation(alice, carol)
    services.message_send(sender=bob, conversation_id=older.id, body="first")
    services.message_send(sender=carol, conversation_id=newer.id, body="second")
    services.message_send(sender=carol, conversation_id=newer.id, body="third")

    results = client_for(alice).get("/api/v1/conversations").json()["results"]
    assert [c["id"] for c in results] == [newer.id, older.id]
    assert results[0]["last_message"]["body"] == "third"
    assert results[0]["unread_count"] == 2
    assert results[1]["unread_count"] == 1

    services.message_send(sender=alice, conversation_id=older.id, body="reply")
    results = client_for(alice).get("/api/v1/conversations").json()["results"]
    assert [c["id"] for c in results] == [older.id, newer.id]
    assert results[0]["unread_count"] == 0  # replying moves her read pointer to her reply
    assert results[0]["last_read_message_id"] == results[0]["last_message"]["id"]


def test_non_member_sees_404_on_every_conversation_route(client_for, alice, bob, carol):
    conversation = direct_conversation(alice, bob)
    message, _ = services.message_send(sender=alice, conversation_id=conversation.id, body="private")
    client = client_for(carol)
    base = f"/api/v1/conversations/{conversation.id}"
    responses = [
        client.get(base),
        client.get(f"{base}/messages"),
        client.post(f"{base}/messages", {"body": "intrude"}),
        client.patch(f"{base}/messages/{message.id}", {"body": "x"}),
        client.delete(f"{base}/messages/{message.id}"),
        client.post(f"{base}/read", {"message_id": message.id}),
    ]
    for response in responses:
        assert response.status_code == 404, response.content
        assert response.json()["code"] == "not_found"
        assert "private" not in response.content.decode()


def _list_queries(client, page_size: int) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(f"/api/v1/conversations?page_size={page_size}")
    assert response.status_code == 200
    return len(ctx.captured_queries), len(response.json()["results"])


def test_list_query_count_is_the_same_for_10_and_100(client_for, alice):
    others = StudentFactory.create_batch(100)
    for index, other in enumerate(others):
        conversation = (
            direct_conversation(alice, other) if index % 2 else group_conversation(alice, other, others[index - 1])
        )
        services.message_send(sender=other, conversation_id=conversation.id, body=f"hello {index}")
    client = client_for(alice)
    client.get("/api/v1/conversations?page_size=1")  # warm the token lookup
    small, small_count = _list_queries(client, 10)
    large, large_count = _list_queries(client, 100)
    assert (small_count, large_count) == (10, 100)
    assert small == large
    assert large <= 3, large


def test_list_paginates_by_cursor_without_repeats(client_for, alice):
    others = StudentFactory.create_batch(7)
    for other in others:
        direct_conversation(alice, other)
    client = client_for(alice)
    seen, url = [], "/api/v1/conversations?page_size=3"
    while url:
        body = client.get(url).json()
        seen += [c["id"] for c in body["results"]]
        url = body["next"]
    assert len(seen) == len(set(seen)) == 7
    assert Membership.objects.filter(user=alice).count() == 7
