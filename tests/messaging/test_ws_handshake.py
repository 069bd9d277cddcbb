"""The websocket handshake (README, Messaging: "Websocket handshake") through the full ASGI
stack: a valid token is enough, a missing Origin is allowed, a present one must be allowed,
and every refusal is an accepted socket closed with a code the client can read."""

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.core.cache import caches

from tests.accounts.factories import StudentFactory, token_for
from wemaster.asgi import application
from wemaster.core import authentication
from wemaster.core.channels_auth import SUBPROTOCOL, token_well_formed

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://localhost")
TIMEOUT = 5


async def handshake(path: str, headers=(), subprotocols=None) -> dict:
    """What the client sees: accepted?, the echoed subprotocol, then open or the close code."""
    communicator = WebsocketCommunicator(application, path, headers=list(headers), subprotocols=subprotocols)
    accepted, subprotocol = await communicator.connect(timeout=TIMEOUT)
    outcome = {"accepted": accepted, "subprotocol": subprotocol}
    if accepted:
        await communicator.send_json_to({"type": "ping"})
        reply = await communicator.receive_output(timeout=TIMEOUT)
        outcome["close"] = reply.get("code") if reply["type"] == "websocket.close" else None
        if outcome["close"] is None:
            assert reply == {"type": "websocket.send", "text": '{"type": "pong"}'}
    await communicator.disconnect()
    return outcome


def run(path: str, headers=(), subprotocols=None) -> dict:
    return async_to_sync(handshake)(path, headers, subprotocols)


def token_for_new_user(**fields) -> str:
    return token_for(StudentFactory(**fields))


OPEN = {"accepted": True, "subprotocol": None, "close": None}


def closed(code: int, subprotocol=None) -> dict:
    return {"accepted": True, "subprotocol": subprotocol, "close": code}


def test_a_valid_token_without_origin_is_enough():
    """Mobile and server clients send no Origin header."""
    assert run(f"/ws/chat/?token={token_for_new_user()}") == OPEN


def test_a_valid_token_with_an_allowed_origin():
    assert run(f"/ws/chat/?token={token_for_new_user()}", headers=[ORIGIN]) == OPEN


@pytest.mark.parametrize(
    "origin", [b"https://evil.example", b"null", b"http://[::1", b"http://localhost.evil.example", b"\xff\xfe"]
)
def test_a_forbidden_origin_closes_with_4403_even_with_a_valid_token(origin):
    assert run(f"/ws/chat/?token={token_for_new_user()}", headers=[(b"origin", origin)]) == closed(4403)


def test_origins_follow_the_setting(settings):
    settings.MESSAGING_WS_ALLOWED_ORIGINS = ["https://app.example.com"]
    key = token_for_new_user()
    assert run(f"/ws/chat/?token={key}", headers=[(b"origin", b"https://app.example.com")]) == OPEN
    assert run(f"/ws/chat/?token={key}", headers=[ORIGIN]) == closed(4403)


@pytest.mark.parametrize("path", ["/ws/chat/", "/ws/chat/?token=", "/ws/chat/?since=3"])
def test_no_token_closes_with_4401(path):
    assert run(path, headers=[ORIGIN]) == closed(4401)
    assert run(path) == closed(4401)


def test_an_unknown_token_closes_with_4401():
    assert run("/ws/chat/?token=" + "0" * 40) == closed(4401)


def test_an_inactive_users_token_closes_with_4401():
    assert run(f"/ws/chat/?token={token_for_new_user(is_active=False)}") == closed(4401)


@pytest.mark.parametrize(
    "token", ["not a token", "a" * 129, "g" * 64, "x" * 8000, "%00abc", "abc.def", "ключ"], ids=lambda t: t[:12]
)
def test_a_malformed_token_closes_with_4401_without_any_lookup(token, monkeypatch):
    lookups = []
    real = authentication.user_for_token
    monkeypatch.setattr(authentication, "user_for_token", lambda key: lookups.append(key) or real(key))
    cache = caches["default"]
    before = set(cache.keys("*")) if hasattr(cache, "keys") else None
    outcome = run("/ws/chat/", subprotocols=[SUBPROTOCOL, token]) if len(token) < 200 else None
    # long ones go in the query, as the 8-14 KB tokens did (cut at the query cap instead)
    query_outcome = run(f"/ws/chat/?token={token}")
    assert lookups == []
    if before is not None:
        assert set(cache.keys("*")) == before
    if outcome is not None:
        assert outcome == closed(4401, SUBPROTOCOL)
    assert query_outcome == closed(4401 if len(token) < 2000 else 4400)


def test_an_oversized_query_string_closes_with_4400(settings):
    settings.MESSAGING_WS_MAX_QUERY_BYTES = 2048
    key = token_for_new_user()
    assert run(f"/ws/chat/?token={key}&pad={'p' * 2100}") == closed(4400)
    assert run(f"/ws/chat/?token={key}&" + "&".join(f"f{i}=1" for i in range(20))) == closed(4400)
    assert run(f"/ws/chat/?token={key}&pad={'p' * 1900}") == OPEN


def test_token_in_the_subprotocol_echoes_the_protocol_name_never_the_token():
    key = token_for_new_user()
    assert run("/ws/chat/", subprotocols=[SUBPROTOCOL, key]) == {**OPEN, "subprotocol": SUBPROTOCOL}
    assert run("/ws/chat/", subprotocols=[key, SUBPROTOCOL], headers=[ORIGIN]) == {**OPEN, "subprotocol": SUBPROTOCOL}


def test_a_lone_token_as_subprotocol_is_accepted_without_an_echo():
    assert run("/ws/chat/", subprotocols=[token_for_new_user()]) == OPEN


def test_refusals_echo_the_protocol_name_so_browsers_read_the_close_code():
    assert run("/ws/chat/", subprotocols=[SUBPROTOCOL, "0" * 40]) == closed(4401, SUBPROTOCOL)
    assert run("/ws/chat/", subprotocols=[SUBPROTOCOL]) == closed(4401, SUBPROTOCOL)
    assert run("/ws/chat/", subprotocols=[SUBPROTOCOL, "a", "b"]) == closed(4401, SUBPROTOCOL)
    evil = [(b"origin", b"https://evil.example")]
    key = token_for_new_user()
    assert run(f"/ws/chat/?token={key}", headers=evil, subprotocols=[SUBPROTOCOL]) == closed(4403, SUBPROTOCOL)


def test_the_subprotocol_token_wins_over_the_query():
    key = token_for_new_user()
    assert run("/ws/chat/?token=" + "0" * 40, subprotocols=[SUBPROTOCOL, key]) == {**OPEN, "subprotocol": SUBPROTOCOL}


def test_token_shape_is_the_one_rest_checks():
    assert token_well_formed(token_for_new_user())  # a token we issue
    assert token_well_formed("0123456789abcdef" * 4) and token_well_formed("a" * 40)  # knox, legacy key
    assert not token_well_formed("") and not token_well_formed("A" * 64) and not token_well_formed(None)
    assert not token_well_formed("f" * 63) and not token_well_formed("f" * 129) and not token_well_formed("ab cd")


def test_refused_handshakes_retain_nothing_in_the_stack():
    """What a real daphne's RSS cannot show precisely (its allocator keeps freed heap at a
    high-water level): our ASGI stack (back-pressure, handshake checks, router, consumer, caches)
    keeps no byte of a refused handshake. 300 refusals after a warm-up, a full collection, then
    the Python heap has grown by less than a quarter of what keeping each 12 KB token would cost
    (tests/messaging/test_ws_daphne.py bounds the real server's RSS)."""
    import gc
    import tracemalloc
    from urllib.parse import urlsplit

    def collect():
        # The standard library's urlsplit keeps its last 128 URLs (a bounded cache the test
        # client's path parsing fills): emptied so that only what the stack keeps is counted.
        urlsplit.cache_clear()
        gc.collect()

    async def refusals(count: int) -> list[int]:
        codes = []
        for n in range(count):
            huge = await handshake(f"/ws/chat/?token={n:05d}{'t' * 12_000}")
            garbage = await handshake("/ws/chat/", subprotocols=[SUBPROTOCOL, f"{n:05d}" + "g" * 200])
            codes += [huge["close"], garbage["close"]]
        return codes

    cache = caches["default"]
    auth_keys = set(cache.keys("auth:*")) if hasattr(cache, "keys") else None
    assert async_to_sync(refusals)(20) == [4400, 4401] * 20  # warm-up: imports, pools, counters
    collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        assert async_to_sync(refusals)(150) == [4400, 4401] * 150
        collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 150 * 12_000 / 4, f"{grown} bytes kept after 300 refused handshakes"
    if auth_keys is not None:
        assert set(cache.keys("auth:*")) == auth_keys
