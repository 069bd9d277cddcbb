"""Messages over REST: send, idempotent retry, limits, edit/delete by the author, history."""

from urllib.parse import parse_qsl, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messaging import selectors, services
from messaging.models import Conversation, Event, Message
from tests.messaging.factories import MessageFactory, direct_conversation

pytestmark = pytest.mark.django_db


@pytest.fixture
def chat(alice, bob):
    return direct_conversation(alice, bob)


def url(conversation, suffix=""):
    return f"/api/v1/conversations/{conversation.id}/messages{suffix}"


def test_send_returns_the_message_and_moves_last_activity(client_for, alice, chat):
    response = client_for(alice).post(url(chat), {"body": "Hello", "client_id": "c-1"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert {"id", "conversation", "sender", "body", "created_at", "edited_at", "client_id"} <= set(body)
    assert (body["conversation"], body["sender"], body["body"], body["client_id"]) == (
        chat.id,
        alice.id,
        "Hello",
        "c-1",
    )
    assert body["deleted"] is False and body["edited_at"] is None
    chat.refresh_from_db()
    assert chat.last_message_id == body["id"]


def test_client_id_retry_returns_the_same_message(client_for, alice, bob, chat):
    client = client_for(alice)
    first = client.post(url(chat), {"body": "once", "client_id": "retry-me"})
    second = client.post(url(chat), {"body": "once", "client_id": "retry-me"})
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json() == second.json()
    assert Message.objects.filter(conversation=chat).count() == 1
    assert Event.objects.filter(user=bob, type="message.created").count() == 1  # no second event


def test_same_client_id_from_another_sender_is_a_new_message(client_for, alice, bob, chat):
    client_for(alice).post(url(chat), {"body": "a", "client_id": "same"})
    assert client_for(bob).post(url(chat), {"body": "b", "client_id": "same"}).status_code == 201


@pytest.mark.parametrize("body", ["x" * 6000, "", "   ", None])
def test_bad_bodies_are_400(client_for, alice, chat, body):
    response = client_for(alice).post(url(chat), {"body": body})
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert "body" in response.json()["fields"]
    assert not Message.objects.exists()


def test_5000_chars_is_accepted(client_for, alice, chat):
    assert client_for(alice).post(url(chat), {"body": "x" * 5000}).status_code == 201


def test_html_is_stored_and_returned_as_plain_text(client_for, alice, chat):
    html = '<script>alert("x")</script> & <b>bold</b>'
    response = client_for(alice).post(url(chat), {"body": html})
    assert response.json()["body"] == html
    assert Message.objects.get().body == html
    assert response["Content-Type"].startswith("application/json")


def test_author_edits_and_soft_deletes(client_for, alice, chat):
    client = client_for(alice)
    message_id = client.post(url(chat), {"body": "typo"}).json()["id"]
    edited = client.patch(url(chat, f"/{message_id}"), {"body": "fixed"})
    assert edited.status_code == 200
    assert edited.json()["body"] == "fixed" and edited.json()["edited_at"] is not None

    assert client.delete(url(chat, f"/{message_id}")).status_code == 204
    history = client.get(url(chat)).json()["results"]
    assert history[0]["id"] == message_id
    assert history[0]["deleted"] is True and history[0]["body"] == ""
    assert client.patch(url(chat, f"/{message_id}"), {"body": "again"}).status_code == 404


def test_non_author_edit_and_delete_are_404(client_for, alice, bob, chat):
    message, _ = services.message_send(sender=alice, conversation_id=chat.id, body="mine")
    client = client_for(bob)
    for response in (
        client.patch(url(chat, f"/{message.id}"), {"body": "yours"}),
        client.delete(url(chat, f"/{message.id}")),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    message.refresh_from_db()
    assert message.body == "mine" and not message.deleted


def test_message_of_another_conversation_is_404(client_for, alice, bob, carol, chat):
    other = direct_conversation(alice, carol)
    message, _ = services.message_send(sender=alice, conversation_id=other.id, body="elsewhere")
    assert client_for(alice).patch(url(chat, f"/{message.id}"), {"body": "x"}).status_code == 404


def test_send_is_throttled_by_the_message_send_scope(client_for, alice, chat, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "message_send": "3/min"},
    }
    client = client_for(alice)
    statuses = [client.post(url(chat), {"body": f"m{i}"}).status_code for i in range(4)]
    assert statuses == [201, 201, 201, 429]
    assert client.get(url(chat)).status_code == 200  # reading is not a send


def ids_of(page) -> list[int]:
    return [m["id"] for m in page["results"]]


def query_of(link: str) -> dict:
    return dict(parse_qsl(urlsplit(link).query))


def test_history_before_and_after(client_for, alice, bob, chat):
    ids = [services.message_send(sender=alice, conversation_id=chat.id, body=str(i))[0].id for i in range(5)]
    client = client_for(bob)
    latest = client.get(url(chat) + "?page_size=2").json()
    assert set(latest) == {"results", "next", "previous"}
    assert ids_of(latest) == [ids[4], ids[3]] and latest["previous"] is None
    assert query_of(latest["next"]) == {"page_size": "2", "before": str(ids[3])}
    before = client.get(url(chat) + f"?before={ids[3]}&limit=10").json()
    assert ids_of(before) == [ids[2], ids[1], ids[0]] and before["next"] is None
    assert query_of(before["previous"]) == {"limit": "10", "after": str(ids[2])}
    after = client.get(url(chat) + f"?after={ids[1]}&page_size=2").json()
    assert ids_of(after) == [ids[2], ids[3]]
    assert query_of(after["next"]) == {"page_size": "2", "after": str(ids[3])}
    assert query_of(after["previous"]) == {"page_size": "2", "before": str(ids[2])}
    assert ids_of(client.get(after["next"]).json()) == [ids[4]]
    assert ids_of(client.get(after["previous"]).json()) == [ids[1], ids[0]]


def test_history_page_size_is_clamped_like_every_list(client_for, alice, bob, chat, settings):
    settings.MAX_PAGE_SIZE = 2
    ids = [services.message_send(sender=alice, conversation_id=chat.id, body=str(i))[0].id for i in range(3)]
    for query in ("page_size=1000", "limit=1000"):
        page = client_for(bob).get(url(chat) + f"?{query}").json()
        assert ids_of(page) == [ids[2], ids[1]] and page["next"]


@pytest.mark.parametrize(
    "query,field",
    [
        ("limit=0", "limit"),
        ("page_size=-1", "page_size"),
        ("limit=ten", "limit"),
        ("before=x", "before"),
        ("before=5&after=1", "before"),
    ],
)
def test_bad_history_queries_are_400(client_for, alice, chat, query, field):
    response = client_for(alice).get(url(chat) + f"?{query}")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert list(response.json()["fields"]) == [field]


def _walk(client, chat, limit: int) -> tuple[list[int], set[int]]:
    """Every id reached by following `next` from the newest page, and the query counts seen."""
    seen, query_counts, link = [], set(), url(chat) + f"?page_size={limit}"
    while link:
        with CaptureQueriesContext(connection) as ctx:
            body = client.get(link).json()
        query_counts.add(len(ctx.captured_queries))
        seen += ids_of(body)
        link = body["next"]
    return seen, query_counts


def test_walking_1000_messages_by_before_is_complete_ordered_and_constant_cost(client_for, alice, bob, carol, chat):
    other = direct_conversation(alice, carol)  # interleaved rows that must not leak in
    Message.objects.bulk_create(
        [MessageFactory.build(conversation=chat if i % 3 else other, sender=alice) for i in range(1500)]
    )
    expected = list(Message.objects.filter(conversation=chat).order_by("-id").values_list("id", flat=True))
    assert len(expected) == 1000
    client = client_for(bob)
    client.get(url(chat) + "?page_size=1")  # warm the token lookup

    ten, ten_counts = _walk(client, chat, 10)
    hundred, hundred_counts = _walk(client, chat, 100)
    assert ten == hundred == expected
    assert ten_counts == hundred_counts
    assert len(ten_counts) == 1 and ten_counts.pop() <= 3


def test_history_reads_limit_plus_one_rows_off_the_index(alice, bob, chat):
    Message.objects.bulk_create([MessageFactory.build(conversation=chat, sender=alice) for _ in range(50)])
    with CaptureQueriesContext(connection) as ctx:
        rows, has_more = selectors.message_history(user=bob, conversation_id=chat.id, before=10**12, limit=10)
    assert len(rows) == 10 and has_more
    sql = ctx.captured_queries[-1]["sql"]
    assert "LIMIT 11" in sql and '"conversation_id" =' in sql
    assert Conversation.objects.count() == 1


def test_client_id_reused_in_another_conversation_is_400(client_for, alice, bob, carol, chat):
    other = direct_conversation(alice, carol)
    client = client_for(alice)
    client.post(url(chat), {"body": "a", "client_id": "k"})
    response = client.post(url(other), {"body": "a", "client_id": "k"})
    assert response.status_code == 400
    assert "client_id" in response.json()["fields"]
