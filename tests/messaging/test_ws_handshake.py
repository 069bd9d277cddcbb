import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from tests.accounts.factories import StudentFactory, token_for
from wemaster.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://localhost")


async def handshake(path: str, headers=(ORIGIN,)):
    communicator = WebsocketCommunicator(application, path, headers=list(headers))
    connected, _ = await communicator.connect(timeout=5)
    await communicator.disconnect()
    return connected


def token_for_new_user() -> str:
    return token_for(StudentFactory())


def test_refused_without_token():
    assert async_to_sync(handshake)("/ws/chat/") is False


def test_refused_with_bad_token():
    assert async_to_sync(handshake)("/ws/chat/?token=not-a-token") is False


def test_refused_with_foreign_origin():
    key = token_for_new_user()
    assert async_to_sync(handshake)(f"/ws/chat/?token={key}", headers=[(b"origin", b"https://evil.example")]) is False


def test_accepted_with_token_and_own_origin():
    key = token_for_new_user()
    assert async_to_sync(handshake)(f"/ws/chat/?token={key}") is True
