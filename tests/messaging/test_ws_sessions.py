"""Revocation reaches open sockets, and each user's sockets are capped (README, Messaging:
"Websocket handshake", "Websocket limits"). On the Redis channel layer and Redis cache, as in
production: the broadcast crosses Redis, the session version and the socket count live there."""

import time

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from rest_framework.test import APIClient

from messaging import services, sockets
from messaging.models import Message
from tests.accounts.factories import token_for
from tests.messaging.factories import direct_conversation
from wemaster.asgi import application
from wemaster.core import revocation
from wemaster.core.revocation import token_key_of

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis]

TIMEOUT = 3


async def connect(key: str) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, f"/ws/chat/?token={key}")
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert connected
    return communicator


async def closed_with(communicator, timeout: float = TIMEOUT) -> int:
    output = await communicator.receive_output(timeout=timeout)
    assert output["type"] == "websocket.close", output
    return output["code"]


async def still_open(communicator) -> None:
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from(timeout=TIMEOUT) == {"type": "pong"}


def test_revoking_every_session_closes_an_open_socket_within_a_second(alice):
    key = token_for(alice)

    async def scenario():
        socket = await connect(key)
        await still_open(socket)
        started = time.monotonic()
        await sync_to_async(revocation.revoke_sessions)(alice.id)
        assert await closed_with(socket, timeout=1.0) == 4401
        elapsed = time.monotonic() - started
        await socket.disconnect()
        return elapsed

    assert async_to_sync(scenario)() < 1.0


def test_revoking_one_token_closes_only_its_sockets(alice):
    phone, laptop = token_for(alice, name="phone"), token_for(alice, name="laptop")

    async def scenario():
        on_phone, on_laptop = await connect(phone), await connect(laptop)
        await sync_to_async(revocation.revoke_sessions)(alice.id, token_key=token_key_of(phone))
        assert await closed_with(on_phone, timeout=1.0) == 4401
        assert await on_laptop.receive_nothing(timeout=0.5)
        await still_open(on_laptop)  # and the version check passes: a one-token revocation moves no version
        await on_phone.disconnect()
        await on_laptop.disconnect()

    async_to_sync(scenario)()


def test_logout_over_rest_closes_the_sockets_of_that_token_only(alice):
    phone, laptop = token_for(alice, name="phone"), token_for(alice, name="laptop")

    def log_out(key: str) -> int:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client.post("/api/v1/auth/logout").status_code

    async def scenario():
        on_phone, on_laptop = await connect(phone), await connect(laptop)
        started = time.monotonic()
        assert await sync_to_async(log_out)(phone) == 204
        assert await closed_with(on_phone, timeout=1.0) == 4401
        elapsed = time.monotonic() - started
        await still_open(on_laptop)
        await on_phone.disconnect()
        await on_laptop.disconnect()
        return elapsed

    assert async_to_sync(scenario)() < 1.0


def test_a_lost_broadcast_is_caught_by_the_next_frame(alice, bob, monkeypatch):
    """The channel layer did not carry `session.revoked` (Redis blinked): the socket stays
    connected, but its next frame finds the session version moved and closes it unanswered."""
    chat = direct_conversation(alice, bob)
    key = token_for(alice)

    async def scenario():
        socket = await connect(key)
        monkeypatch.setattr(revocation, "get_channel_layer", lambda: None)
        await sync_to_async(revocation.revoke_sessions)(alice.id)
        assert await socket.receive_nothing(timeout=0.3)
        await socket.send_json_to({"type": "message.send", "conversation": chat.id, "body": "after revocation"})
        assert await closed_with(socket) == 4401
        await socket.send_json_to({"type": "message.send", "conversation": chat.id, "body": "still trying"})
        assert await socket.receive_nothing(timeout=0.3)
        await socket.disconnect()

    async_to_sync(scenario)()
    assert not Message.objects.filter(conversation=chat).exists()


def test_a_lost_broadcast_of_one_tokens_revocation_is_caught_by_its_next_frame(alice, bob, monkeypatch):
    """Logout of one device while the broadcast is lost: that token's socket closes at its next
    frame (the token's revocation mark), the user's other device keeps working."""
    chat = direct_conversation(alice, bob)
    phone, laptop = token_for(alice, name="phone"), token_for(alice, name="laptop")

    async def scenario():
        phone_socket, laptop_socket = await connect(phone), await connect(laptop)
        monkeypatch.setattr(revocation, "get_channel_layer", lambda: None)
        await sync_to_async(revocation.revoke_sessions)(alice.id, token_key=token_key_of(phone))
        assert await phone_socket.receive_nothing(timeout=0.3)
        await phone_socket.send_json_to({"type": "message.send", "conversation": chat.id, "body": "from the phone"})
        assert await closed_with(phone_socket) == 4401
        await still_open(laptop_socket)
        await laptop_socket.disconnect()
        await phone_socket.disconnect()

    async_to_sync(scenario)()
    assert not Message.objects.filter(conversation=chat).exists()


def test_a_deactivated_user_can_neither_send_nor_receive(alice, bob):
    chat = direct_conversation(alice, bob)
    alice_key, bob_key = token_for(alice), token_for(bob)

    def deactivate():  # the save revokes the user's sessions (wemaster/core/signals.py)
        bob.is_active = False
        bob.save()

    async def scenario():
        a, b = await connect(alice_key), await connect(bob_key)
        started = time.monotonic()
        await sync_to_async(deactivate)()
        assert await closed_with(b, timeout=1.0) == 4401
        assert time.monotonic() - started < 1.0
        await sync_to_async(services.message_send)(sender=alice, conversation_id=chat.id, body="private")
        assert (await a.receive_json_from(timeout=TIMEOUT))["message"]["body"] == "private"
        assert await b.receive_nothing(timeout=0.5)  # the friend's message never reaches the closed socket
        await b.send_json_to({"type": "message.send", "conversation": chat.id, "body": "from a dead session"})
        assert await b.receive_nothing(timeout=0.3)
        await b.disconnect()
        again = WebsocketCommunicator(application, f"/ws/chat/?token={bob_key}")
        assert (await again.connect(timeout=TIMEOUT))[0]
        assert await closed_with(again) == 4401
        await again.disconnect()
        await a.disconnect()

    async_to_sync(scenario)()
    assert list(Message.objects.filter(conversation=chat).values_list("body", flat=True)) == ["private"]


def test_a_users_oldest_socket_is_closed_past_the_cap(alice, bob, settings):
    settings.MESSAGING_WS_MAX_SOCKETS_PER_USER = 2
    alice_key, bob_key = token_for(alice), token_for(bob)

    async def scenario():
        first, second = await connect(alice_key), await connect(alice_key)
        bobs = await connect(bob_key)
        assert await sync_to_async(sockets.socket_count)(user_id=alice.id) == 2
        third = await connect(alice_key)
        assert await closed_with(first) == 4409
        await first.disconnect()
        for socket in (second, third, bobs):  # the newer ones, and other users, are untouched
            await still_open(socket)
        counted = await sync_to_async(sockets.socket_count)(user_id=alice.id)
        for socket in (second, third, bobs):
            await socket.disconnect()
        return counted, await sync_to_async(sockets.socket_count)(user_id=alice.id)

    assert async_to_sync(scenario)() == (2, 0)


def test_a_thousand_sockets_of_one_user_leave_at_most_the_cap_open(alice, settings):
    """The issue's flood (1,000 sockets in 8.7 s), scaled down: every socket past the cap
    closes an older one, so fan-out stays at the cap."""
    settings.MESSAGING_WS_MAX_SOCKETS_PER_USER = 3
    key = token_for(alice)

    async def scenario():
        opened = [await connect(key) for _ in range(12)]
        codes = [await closed_with(socket) for socket in opened[:-3]]
        for socket in opened[-3:]:
            await still_open(socket)
        for socket in opened:
            await socket.disconnect()
        return codes

    assert async_to_sync(scenario)() == [4409] * 9
