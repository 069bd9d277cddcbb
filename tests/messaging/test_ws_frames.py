"""Frames a hostile client can send: every shape comes back as an `error` frame with a code and
the socket keeps working (never a 1011 close); `read` frames are coalesced and rate limited."""

import json

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connection

from messaging import services
from tests.accounts.factories import token_for
from tests.messaging.factories import direct_conversation
from wemaster.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 3


async def connect(key: str) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, f"/ws/chat/?token={key}")
    assert (await communicator.connect(timeout=TIMEOUT))[0]
    return communicator


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


HOSTILE_TEXT = {
    "type is a list": ('{"type": [1, 2]}', "unknown_type"),
    "type is an object": ('{"type": {"a": 1}}', "unknown_type"),
    "type is null": ('{"type": null}', "unknown_type"),
    "no type": ("{}", "unknown_type"),
    "unknown type": ('{"type": "dance"}', "unknown_type"),
    "a list": ("[1, 2]", "parse_error"),
    "a string": ('"ping"', "parse_error"),
    "a number": ("42", "parse_error"),
    "null": ("null", "parse_error"),
    "not json": ("{not json", "parse_error"),
    "30k deep": (nested(30_000), "parse_error"),
    "30k deep inside an object": ('{"type": "read", "x": ' + nested(30_000) + "}", "parse_error"),
    "a 5000-digit integer": ('{"type": "read", "conversation": ' + "9" * 5000 + "}", "parse_error"),
    "over the frame cap": (json.dumps({"type": "message.send", "body": "x" * 70_000}), "frame_too_large"),
    "over the cap in bytes, not characters": (
        json.dumps({"type": "ping", "p": "é" * 40_000}, ensure_ascii=False),
        "frame_too_large",
    ),
    "infinite conversation": ('{"type": "typing", "conversation": 1e400}', "validation_error"),
    "huge conversation id": ('{"type": "typing", "conversation": ' + "9" * 30 + "}", "validation_error"),
    "huge message id": ('{"type": "read", "conversation": 1, "message_id": ' + "9" * 30 + "}", "validation_error"),
    "nested fields": (
        '{"type": "message.send", "conversation": ' + nested(500) + ', "body": {"a": {"b": []}}}',
        "validation_error",
    ),
}


def test_every_hostile_shape_is_an_error_frame_and_the_socket_survives(alice):
    key = token_for(alice)

    async def scenario():
        socket = await connect(key)
        answers = {}
        for name, (text, _) in HOSTILE_TEXT.items():
            await socket.send_to(text_data=text)
            reply = await socket.receive_json_from(timeout=TIMEOUT)
            assert reply["type"] == "error" and reply["detail"], (name, reply)
            answers[name] = reply["code"]
        await socket.send_to(bytes_data=b"\xff\xfe{")
        answers["bytes, not utf-8"] = (await socket.receive_json_from(timeout=TIMEOUT))["code"]
        await socket.send_json_to({"type": "ping"})
        assert await socket.receive_json_from(timeout=TIMEOUT) == {"type": "pong"}
        await socket.disconnect()
        return answers

    expected = {name: code for name, (_, code) in HOSTILE_TEXT.items()} | {"bytes, not utf-8": "parse_error"}
    assert async_to_sync(scenario)() == expected


def test_a_100k_deep_frame_under_a_larger_cap_is_a_parse_error(alice, settings):
    settings.MESSAGING_WS_MAX_FRAME_BYTES = 1024 * 1024
    key = token_for(alice)

    async def scenario():
        socket = await connect(key)
        await socket.send_to(text_data=nested(100_000))
        reply = await socket.receive_json_from(timeout=TIMEOUT)
        await socket.send_json_to({"type": "ping"})
        pong = await socket.receive_json_from(timeout=TIMEOUT)
        await socket.disconnect()
        return reply["code"], pong

    assert async_to_sync(scenario)() == ("parse_error", {"type": "pong"})


def test_an_error_echoes_only_scalar_request_fields(alice):
    key = token_for(alice)

    async def scenario():
        socket = await connect(key)
        await socket.send_json_to(
            {"type": "message.send", "conversation": [[1]], "client_id": "c" * 5000, "body": "x"}
        )
        reply = await socket.receive_json_from(timeout=TIMEOUT)
        await socket.send_json_to({"type": "message.send", "conversation": 2**63 - 1, "client_id": "c1", "body": "x"})
        second = await socket.receive_json_from(timeout=TIMEOUT)
        await socket.disconnect()
        return reply, second

    reply, second = async_to_sync(scenario)()
    assert reply["code"] == "validation_error" and reply["request"] == {"type": "message.send"}
    assert second["code"] == "not_found"
    assert second["request"] == {"type": "message.send", "conversation": 2**63 - 1, "client_id": "c1"}


class QueriesByPhase:
    """Counts the queries of the consumer's database calls, which run in this (the calling)
    thread under `async_to_sync`, by the phase the scenario names."""

    def __init__(self):
        self.phase = "connect"
        self.counts: dict[str, int] = {}

    def __call__(self, execute, sql, params, many, context):
        self.counts[self.phase] = self.counts.get(self.phase, 0) + 1
        return execute(sql, params, many, context)

    def run(self, scenario) -> dict[str, int]:
        with connection.execute_wrapper(self):
            async_to_sync(scenario)()
        return self.counts


def test_a_read_that_does_not_move_the_pointer_costs_no_query(alice, bob):
    chat = direct_conversation(alice, bob)
    first, _ = services.message_send(sender=alice, conversation_id=chat.id, body="one")
    second, _ = services.message_send(sender=alice, conversation_id=chat.id, body="two")
    key = token_for(bob)

    queries = QueriesByPhase()

    async def scenario():
        socket = await connect(key)
        queries.phase = "moving"
        await socket.send_json_to({"type": "read", "conversation": chat.id, "message_id": second.id})
        event = await socket.receive_json_from(timeout=TIMEOUT)
        assert (event["type"], event["message_id"]) == ("conversation.read", second.id)
        queries.phase = "repeated"
        for message_id in (second.id, first.id, second.id):
            await socket.send_json_to({"type": "read", "conversation": chat.id, "message_id": message_id})
        await socket.send_json_to({"type": "ping"})
        assert await socket.receive_json_from(timeout=TIMEOUT) == {"type": "pong"}
        queries.phase = "disconnect"
        await socket.disconnect()

    counts = queries.run(scenario)
    assert counts.get("moving", 0) > 0  # the counter sees the consumer's queries
    assert counts.get("repeated", 0) == 0


def test_a_read_moved_on_another_device_is_coalesced_too(alice, bob):
    chat = direct_conversation(alice, bob)
    message, _ = services.message_send(sender=alice, conversation_id=chat.id, body="one")
    key = token_for(bob)

    queries = QueriesByPhase()

    async def scenario():
        socket = await connect(key)
        await sync_to_async(services.conversation_mark_read)(user=bob, conversation_id=chat.id, message_id=message.id)
        assert (await socket.receive_json_from(timeout=TIMEOUT))["type"] == "conversation.read"
        queries.phase = "repeated"
        await socket.send_json_to({"type": "read", "conversation": chat.id, "message_id": message.id})
        await socket.send_json_to({"type": "ping"})
        assert await socket.receive_json_from(timeout=TIMEOUT) == {"type": "pong"}
        queries.phase = "disconnect"
        await socket.disconnect()

    assert queries.run(scenario).get("repeated", 0) == 0


def test_read_frames_that_reach_the_database_have_a_scoped_limit(alice, bob, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "ws_read": "2/min"},
    }
    chat = direct_conversation(alice, bob)
    messages = [services.message_send(sender=alice, conversation_id=chat.id, body=f"m{i}")[0] for i in range(3)]
    key = token_for(bob)

    async def scenario():
        socket = await connect(key)
        replies = []
        for message in messages[:2]:
            await socket.send_json_to({"type": "read", "conversation": chat.id, "message_id": message.id})
            replies.append((await socket.receive_json_from(timeout=TIMEOUT))["type"])
        for _ in range(5):  # repeats are free: they neither reach the database nor count
            await socket.send_json_to({"type": "read", "conversation": chat.id, "message_id": messages[1].id})
        await socket.send_json_to({"type": "read", "conversation": chat.id, "message_id": messages[2].id})
        refused = await socket.receive_json_from(timeout=TIMEOUT)
        assert await socket.receive_nothing(timeout=0.3)  # only the moving read was refused
        await socket.disconnect()
        return replies, refused

    replies, refused = async_to_sync(scenario)()
    assert replies == ["conversation.read", "conversation.read"]
    assert refused["code"] == "throttled" and refused["retry_after"] >= 1
    assert refused["request"] == {"type": "read", "conversation": chat.id}
