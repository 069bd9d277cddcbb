"""Websocket under faults (issue #9, part 5): a client connected through one ASGI process that
is killed (SIGKILL) reconnects to the other process with `?since=` and receives every event
it missed, in order, exactly once, then live events."""

import asyncio
import json
import uuid

import pytest
import requests
import websockets

from tests.reliability.conftest import routes_exist

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.timeout(180),
    pytest.mark.skipif(not routes_exist("conversation-list"), reason="needs the messaging routes"),
]

PASSWORD = "failover-passphrase-2026"


def _register(base: str, name: str) -> dict:
    body = {
        "email": f"{name}-{uuid.uuid4().hex[:8]}@example.test",
        "password": PASSWORD,
        "role": "student",
        "display_name": name,
    }
    response = requests.post(f"{base}/api/v1/auth/register", json=body, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def _send(base: str, token: str, conversation: int, body: str) -> dict:
    response = requests.post(
        f"{base}/api/v1/conversations/{conversation}/messages",
        json={"body": body, "client_id": uuid.uuid4().hex},
        headers={"Authorization": f"Token {token}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _frames_until(socket, count: int, timeout: float = 15.0) -> list[dict]:
    """The next `count` message.created frames (other frame types are skipped)."""
    frames = []
    async with asyncio.timeout(timeout):
        while len(frames) < count:
            frame = json.loads(await socket.recv())
            if frame["type"] == "message.created":
                frames.append(frame)
    return frames


async def _scenario(system, alice: dict, bob: dict, conversation: int) -> dict:
    base, ports = system.url, system.topology.ports
    ws = {name: f"ws://127.0.0.1:{ports[name]}/ws/chat/?token={bob['token']}" for name in ("ws1", "ws2")}

    socket = await websockets.connect(ws["ws1"], origin=base)
    await socket.send(json.dumps({"type": "ping"}))
    first = _send(base, alice["token"], conversation, "before the crash")
    [seen] = await _frames_until(socket, 1)
    assert seen["message"]["id"] == first["id"]
    last_event = seen["event_id"]

    # The ASGI process bob is connected through dies without a goodbye.
    await asyncio.to_thread(system.managed["ws1"].kill9)
    with pytest.raises(websockets.ConnectionClosed):
        async with asyncio.timeout(10):
            while True:
                await socket.recv()

    missed = [_send(base, alice["token"], conversation, f"while away {n}")["id"] for n in range(5)]

    async with websockets.connect(f"{ws['ws2']}&since={last_event}", origin=base) as resumed:
        replayed = await _frames_until(resumed, 5)
        live_message = await asyncio.to_thread(_send, base, alice["token"], conversation, "after the switch")
        [live] = await _frames_until(resumed, 1)
        # anything else arriving shortly would be a duplicate
        extra = []
        try:
            async with asyncio.timeout(1.5):
                while True:
                    frame = json.loads(await resumed.recv())
                    if frame["type"] == "message.created":
                        extra.append(frame)
        except TimeoutError:
            pass
    return {
        "missed": missed,
        "replayed": replayed,
        "live_id": live_message["id"],
        "live": live,
        "extra": extra,
        "last_event": last_event,
    }


def test_client_of_a_killed_asgi_process_resumes_on_the_other_exactly_once(live_system):
    base = live_system.url
    alice, bob = _register(base, "alice"), _register(base, "bob")
    response = requests.post(
        f"{base}/api/v1/conversations",
        json={"participant_ids": [bob["id"]]},
        headers={"Authorization": f"Token {alice['token']}"},
        timeout=10,
    )
    assert response.status_code in (200, 201), response.text
    result = asyncio.run(_scenario(live_system, alice, bob, response.json()["id"]))

    replayed_ids = [frame["message"]["id"] for frame in result["replayed"]]
    assert replayed_ids == result["missed"]  # every missed message, in order
    event_ids = [frame["event_id"] for frame in result["replayed"]] + [result["live"]["event_id"]]
    assert event_ids == sorted(event_ids) and len(set(event_ids)) == len(event_ids)
    assert event_ids[0] > result["last_event"]
    assert result["live"]["message"]["id"] == result["live_id"]
    assert result["extra"] == []  # nothing delivered twice
