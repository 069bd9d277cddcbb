"""Read pointers and unread counts: forward only, bounded cost, cached and invalidated on commit."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messaging import selectors, services
from messaging.models import Membership, Message
from tests.messaging.factories import MessageFactory, direct_conversation, group_conversation

pytestmark = pytest.mark.django_db


def unread(client):
    response = client.get("/api/v1/conversations/unread")
    assert response.status_code == 200
    return response.json()


def test_unread_counts_follow_sends_reads_and_deletes(
    client_for, alice, bob, carol, django_capture_on_commit_callbacks
):
    chat = direct_conversation(alice, bob)
    group = group_conversation(alice, bob, carol)
    client = client_for(bob)
    assert unread(client) == {"total": 0, "conversations": {}}

    with django_capture_on_commit_callbacks(execute=True):
        first, _ = services.message_send(sender=alice, conversation_id=chat.id, body="1")
        services.message_send(sender=alice, conversation_id=chat.id, body="2")
        services.message_send(sender=bob, conversation_id=group.id, body="own")
        services.message_send(sender=carol, conversation_id=group.id, body="3")
    assert unread(client) == {"total": 3, "conversations": {str(chat.id): 2, str(group.id): 1}}

    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/api/v1/conversations/{chat.id}/read", {"message_id": first.id}).status_code == 204
    assert unread(client) == {"total": 2, "conversations": {str(chat.id): 1, str(group.id): 1}}

    with django_capture_on_commit_callbacks(execute=True):
        group_message = Message.objects.get(body="3")
        services.message_delete(user=carol, conversation_id=group.id, message_id=group_message.id)
    assert unread(client) == {"total": 1, "conversations": {str(chat.id): 1}}


def test_read_pointer_never_moves_back(client_for, alice, bob):
    chat = direct_conversation(alice, bob)
    ids = [services.message_send(sender=alice, conversation_id=chat.id, body=str(i))[0].id for i in range(3)]
    client = client_for(bob)
    client.post(f"/api/v1/conversations/{chat.id}/read", {"message_id": ids[2]})
    assert client.post(f"/api/v1/conversations/{chat.id}/read", {"message_id": ids[0]}).status_code == 204
    assert Membership.objects.get(conversation=chat, user=bob).last_read_message_id == ids[2]


def test_read_of_a_message_outside_the_conversation_is_400(client_for, alice, bob, carol):
    chat = direct_conversation(alice, bob)
    elsewhere, _ = services.message_send(sender=alice, conversation_id=direct_conversation(alice, carol).id, body="x")
    response = client_for(bob).post(f"/api/v1/conversations/{chat.id}/read", {"message_id": elsewhere.id})
    assert response.status_code == 400
    assert "message_id" in response.json()["fields"]


def test_unread_is_cached_until_a_change_commits(alice, bob, settings, django_capture_on_commit_callbacks):
    if not settings.CACHES_ENABLED:
        pytest.skip("caches are off")
    chat = direct_conversation(alice, bob)
    services.message_send(sender=alice, conversation_id=chat.id, body="1")
    assert selectors.unread_counts_for_user(user=bob)["total"] == 1
    with CaptureQueriesContext(connection) as ctx:
        assert selectors.unread_counts_for_user(user=bob)["total"] == 1
    assert not [q for q in ctx.captured_queries if "messaging_message" in q["sql"]]

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.message_send(sender=alice, conversation_id=chat.id, body="2")
    assert selectors.unread_counts_for_user(user=bob)["total"] == 1  # not committed yet
    for callback in callbacks:
        callback()
    assert selectors.unread_counts_for_user(user=bob)["total"] == 2


def test_unread_costs_one_query_whatever_the_history(alice, bob, settings):
    settings.CACHES_ENABLED = False
    chat = direct_conversation(alice, bob)
    Message.objects.bulk_create([MessageFactory.build(conversation=chat, sender=alice) for _ in range(2000)])
    last = Message.objects.filter(conversation=chat).order_by("-id").values_list("id", flat=True)[5]
    Membership.objects.filter(conversation=chat, user=bob).update(last_read_message_id=last)
    with CaptureQueriesContext(connection) as ctx:
        counts = selectors.unread_counts_for_user(user=bob)
    assert counts == {"total": 5, "conversations": {str(chat.id): 5}}
    assert len(ctx.captured_queries) == 1


@pytest.mark.postgres
def test_unread_count_scans_the_conversation_id_index_above_the_pointer(alice, bob):
    chat = direct_conversation(alice, bob)
    Message.objects.bulk_create([MessageFactory.build(conversation=chat, sender=alice) for _ in range(500)])
    with CaptureQueriesContext(connection) as ctx:
        selectors._unread_counts(bob.id)
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("EXPLAIN " + ctx.captured_queries[-1]["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET enable_seqscan")
    assert "messaging_message_conv_id" in plan


def test_sending_moves_the_senders_read_pointer(alice, bob):
    chat = direct_conversation(alice, bob)
    services.message_send(sender=bob, conversation_id=chat.id, body="question")
    reply, _ = services.message_send(sender=alice, conversation_id=chat.id, body="answer")
    assert Membership.objects.get(conversation=chat, user=alice).last_read_message_id == reply.id
    assert selectors.unread_counts_for_user(user=alice)["total"] == 0
    assert selectors.unread_counts_for_user(user=bob)["total"] == 1
