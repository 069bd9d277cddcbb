"""Real-time chat over the full ASGI stack (origin check, token auth, consumer) and the
configured channel layer: channels-redis with REDIS_URL (CI), in-memory otherwise."""

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator

from messaging import events, selectors, services
from messaging.models import Event, EventSequence
from tests.accounts.factories import token_for
from tests.messaging.factories import direct_conversation
from wemaster.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://localhost")
TIMEOUT = 3


def token(user) -> str:
    return token_for(user)


async def connect(user_token: str, since: int | None = None) -> WebsocketCommunicator:
    path = f"/ws/chat/?token={user_token}" + (f"&since={since}" if since is not None else "")
    communicator = WebsocketCommunicator(application, path, headers=[ORIGIN])
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert connected
    return communicator


async def receive(communicator) -> dict:
    return await communicator.receive_json_from(timeout=TIMEOUT)


async def receive_types(communicator, count: int) -> list[dict]:
    return [await receive(communicator) for _ in range(count)]


async def nothing(*communicators) -> None:
    for communicator in communicators:
        assert await communicator.receive_nothing(timeout=0.3)


async def close(*communicators) -> None:
    for communicator in communicators:
        await communicator.disconnect()


def rest_send(client_for, user, conversation, body, **extra):
    response = client_for(user).post(f"/api/v1/conversations/{conversation.id}/messages", {"body": body, **extra})
    assert response.status_code == 201, response.content
    return response.json()


def test_rest_send_reaches_members_connections_and_nobody_else(client_for, alice, bob, carol):
    chat = direct_conversation(alice, bob)
    keys = [token(alice), token(bob), token(carol)]

    async def scenario():
        a_other, b, c = await connect(keys[0]), await connect(keys[1]), await connect(keys[2])
        sent = await sync_to_async(rest_send)(client_for, alice, chat, "hello <b>B</b>")
        for communicator in (b, a_other):
            event = await receive(communicator)
            assert event["type"] == "message.created"
            assert event["message"] == sent
            assert isinstance(event["event_id"], int)
        await nothing(c, b, a_other)
        await close(a_other, b, c)

    async_to_sync(scenario)()


def test_reconnect_with_since_replays_exactly_the_missed_events_then_live(client_for, alice, bob):
    chat = direct_conversation(alice, bob)
    bob_key = token(bob)

    async def scenario():
        b = await connect(bob_key)
        await sync_to_async(rest_send)(client_for, alice, chat, "before")
        last_seen = (await receive(b))["event_id"]
        await close(b)

        missed = [(await sync_to_async(rest_send)(client_for, alice, chat, f"missed {i}"))["id"] for i in range(5)]

        b = await connect(bob_key, since=last_seen)
        replayed = await receive_types(b, 5)
        assert [e["message"]["id"] for e in replayed] == missed
        assert [e["event_id"] for e in replayed] == list(range(last_seen + 1, last_seen + 6))
        live = await sync_to_async(rest_send)(client_for, alice, chat, "live")
        event = await receive(b)
        assert (event["message"]["id"], event["event_id"]) == (live["id"], last_seen + 6)
        await nothing(b)
        await close(b)

    async_to_sync(scenario)()


def test_live_events_published_during_the_replay_are_not_repeated(alice, bob):
    """Events committed after the group join but before the replay read arrive both ways;
    the consumer sends each once."""
    chat = direct_conversation(alice, bob)
    bob_key = token(bob)

    async def scenario():
        for i in range(3):
            await sync_to_async(services.message_send)(sender=alice, conversation_id=chat.id, body=f"m{i}")
        stored = await sync_to_async(
            lambda: [events.frame(e) for e in Event.objects.filter(user=bob).order_by("seq")]
        )()
        b = await connect(bob_key, since=0)
        assert [e["event_id"] for e in await receive_types(b, 3)] == [1, 2, 3]
        # the same events reaching the channel again (as when published during the replay)
        await sync_to_async(events._group_send_all)([(events.user_group(bob.id), frame) for frame in stored])
        await nothing(b)
        await close(b)

    async_to_sync(scenario)()


def test_a_live_event_that_skips_ahead_pulls_the_gap_from_the_store(alice, bob):
    chat = direct_conversation(alice, bob)
    bob_key = token(bob)

    def store_without_publishing():
        seq = EventSequence.objects.get(user=bob)
        seq.last_seq += 1
        seq.save()
        Event.objects.create(user=bob, seq=seq.last_seq, type="conversation.read", payload={"conversation": chat.id})

    async def scenario():
        b = await connect(bob_key)
        await sync_to_async(store_without_publishing)()  # as if its group_send were lost
        await sync_to_async(services.message_send)(sender=alice, conversation_id=chat.id, body="after the gap")
        first, second = await receive_types(b, 2)
        assert (first["type"], first["event_id"]) == ("conversation.read", 1)
        assert (second["type"], second["event_id"]) == ("message.created", 2)
        await nothing(b)
        await close(b)

    async_to_sync(scenario)()


def test_websocket_send_goes_through_the_service(client_for, alice, bob):
    chat = direct_conversation(alice, bob)
    keys = token(alice), token(bob)

    async def scenario():
        a, b = await connect(keys[0]), await connect(keys[1])
        await a.send_json_to({"type": "message.send", "conversation": chat.id, "body": "via ws", "client_id": "w1"})
        for communicator in (a, b):
            event = await receive(communicator)
            assert event["type"] == "message.created" and event["message"]["body"] == "via ws"
        await a.send_json_to({"type": "message.send", "conversation": chat.id, "body": "via ws", "client_id": "w1"})
        await nothing(a, b)  # a retried client_id stores and emits nothing new
        await close(a, b)

    async_to_sync(scenario)()
    history = client_for(bob).get(f"/api/v1/conversations/{chat.id}/messages").json()["results"]
    assert [m["body"] for m in history] == ["via ws"]


def test_websocket_errors_come_back_as_error_frames(alice, bob, carol):
    chat = direct_conversation(bob, carol)
    key = token(alice)

    async def scenario():
        a = await connect(key)
        await a.send_json_to({"type": "message.send", "conversation": chat.id, "body": "intrude"})
        assert (await receive(a))["code"] == "not_found"
        await a.send_json_to({"type": "read", "conversation": chat.id, "message_id": 1})
        assert (await receive(a))["code"] == "not_found"
        await a.send_json_to({"type": "message.send", "conversation": chat.id, "body": "x" * 6000})
        error = await receive(a)
        assert error["code"] == "validation_error" and "body" in error["fields"]
        await a.send_json_to({"type": "typing", "conversation": chat.id, "conversaton": chat.id})
        error = await receive(a)  # frames are strict like REST bodies
        assert error["code"] == "validation_error" and error["fields"] == {"conversaton": ["Unknown field."]}
        await a.send_json_to({"type": "dance"})
        assert (await receive(a))["code"] == "unknown_type"
        await a.send_to(text_data="{not json")
        assert (await receive(a))["code"] == "parse_error"
        await a.send_json_to({"type": "ping"})
        assert (await receive(a)) == {"type": "pong"}
        await close(a)

    async_to_sync(scenario)()


def test_websocket_sends_share_the_rest_rate_limit(client_for, alice, bob, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "message_send": "2/min"},
    }
    chat = direct_conversation(alice, bob)
    key = token(alice)
    for i in range(2):
        rest_send(client_for, alice, chat, f"rest {i}")

    async def scenario():
        a = await connect(key)
        await a.send_json_to({"type": "message.send", "conversation": chat.id, "body": "one too many"})
        error = await receive(a)
        assert error["code"] == "throttled" and error["retry_after"] >= 1
        await close(a)

    async_to_sync(scenario)()


def test_read_and_edit_and_delete_reach_the_other_side(alice, bob):
    chat = direct_conversation(alice, bob)
    keys = token(alice), token(bob)

    async def scenario():
        a, b = await connect(keys[0]), await connect(keys[1])
        message, _ = await sync_to_async(services.message_send)(sender=alice, conversation_id=chat.id, body="v1")
        await receive(a), await receive(b)
        await b.send_json_to({"type": "read", "conversation": chat.id, "message_id": message.id})
        for communicator in (a, b):
            event = await receive(communicator)
            assert event["type"] == "conversation.read"
            assert (event["conversation"], event["user"], event["message_id"]) == (chat.id, bob.id, message.id)
        await sync_to_async(services.message_edit)(
            user=alice, conversation_id=chat.id, message_id=message.id, body="v2"
        )
        assert (await receive(b))["message"]["body"] == "v2"
        await sync_to_async(services.message_delete)(user=alice, conversation_id=chat.id, message_id=message.id)
        deleted = await receive(b)
        assert deleted["type"] == "message.deleted" and deleted["message"]["deleted"] is True
        await receive(a), await receive(a)
        await nothing(a, b)
        await close(a, b)

    async_to_sync(scenario)()


def test_typing_is_throttled_not_stored_and_not_echoed(alice, bob):
    chat = direct_conversation(alice, bob)
    keys = token(alice), token(bob)

    async def scenario():
        a, b = await connect(keys[0]), await connect(keys[1])
        for _ in range(3):
            await a.send_json_to({"type": "typing", "conversation": chat.id})
        event = await receive(b)
        assert event == {"type": "typing", "event_id": None, "conversation": chat.id, "user": alice.id}
        await nothing(a, b)
        await close(a, b)

    async_to_sync(scenario)()
    assert not Event.objects.filter(type="typing").exists()


def test_idle_connection_is_closed(alice, settings):
    settings.MESSAGING_WS_IDLE_TIMEOUT = 1
    key = token(alice)

    async def scenario():
        a = await connect(key)
        output = await a.receive_output(timeout=TIMEOUT)
        assert output == {"type": "websocket.close", "code": 4408}
        await a.wait()

    async_to_sync(scenario)()


def test_watermark_without_since_skips_history(alice, bob):
    chat = direct_conversation(alice, bob)
    services.message_send(sender=alice, conversation_id=chat.id, body="old")
    assert selectors.event_watermark(user_id=bob.id) == 1
    key = token(bob)

    async def scenario():
        b = await connect(key)
        await nothing(b)
        await close(b)

    async_to_sync(scenario)()


def test_since_beyond_the_latest_event_does_not_mute_later_events(alice, bob):
    chat = direct_conversation(alice, bob)
    key = token(bob)

    async def scenario():
        b = await connect(key, since=10_000)
        await sync_to_async(services.message_send)(sender=alice, conversation_id=chat.id, body="still delivered")
        assert (await receive(b))["event_id"] == 1
        await close(b)

    async_to_sync(scenario)()
