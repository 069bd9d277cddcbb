"""The production topology across processes: REST on a WSGI worker reaches websocket
clients on both ASGI processes; a withdrawal is paid by the real Celery worker."""

import asyncio
import json
import time
import uuid

import pytest
import websockets

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


async def _receive(socket, predicate, timeout: float = 10.0) -> dict:
    """The first frame matching `predicate` within `timeout` seconds."""
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await socket.recv())
            if predicate(frame):
                return frame


async def _both_asgi_processes_receive(live, body: str) -> list[dict]:
    data = live.data
    urls = [
        f"ws://127.0.0.1:{live.topology.ports[name]}/ws/chat/?token={data[user]['token']}"
        for name, user in (("ws1", "alice"), ("ws2", "bob"))
    ]
    async with (
        websockets.connect(urls[0], origin=live.base_url) as alice,
        websockets.connect(urls[1], origin=live.base_url) as bob,
    ):
        # Both joined their groups before accept(): a ping round trip proves each is live.
        for socket in (alice, bob):
            await socket.send(json.dumps({"type": "ping"}))
            await _receive(socket, lambda frame: frame["type"] == "pong")
        status, message = await asyncio.to_thread(
            live.request,
            "POST",
            f"/api/v1/conversations/{data['conversation']}/messages",
            token=data["alice"]["token"],
            body={"body": body, "client_id": str(uuid.uuid4())},
        )
        assert status == 201, message

        def created(frame):
            return frame["type"] == "message.created" and frame["message"]["id"] == message["id"]

        return await asyncio.gather(_receive(alice, created), _receive(bob, created))


def test_a_rest_message_reaches_websocket_clients_on_both_asgi_processes(live):
    frames = asyncio.run(_both_asgi_processes_receive(live, "hello across processes"))
    for frame in frames:
        assert frame["message"]["body"] == "hello across processes"
        assert isinstance(frame["event_id"], int)


def test_a_foreign_origin_is_refused_by_the_asgi_process(live):
    """Accepted, then closed with 4403: a browser reads the code (an HTTP 403 it could not)."""
    url = f"ws://127.0.0.1:{live.topology.ports['ws1']}/ws/chat/?token={live.data['alice']['token']}"

    async def connect():
        async with websockets.connect(url, origin="http://evil.example") as socket:
            async with asyncio.timeout(5):
                await socket.recv()

    with pytest.raises(websockets.ConnectionClosed) as refused:
        asyncio.run(connect())
    assert refused.value.rcvd.code == 4403


def test_a_client_without_origin_connects_through_nginx_with_the_token_in_the_subprotocol(live):
    """A mobile or server client: no Origin header, the token kept out of the URL."""
    url = f"{live.base_url.replace('http://', 'ws://')}/ws/chat/"

    async def ping():
        async with websockets.connect(url, subprotocols=["wemaster.token", live.data["alice"]["token"]]) as socket:
            await socket.send(json.dumps({"type": "ping"}))
            async with asyncio.timeout(5):
                return socket.subprotocol, json.loads(await socket.recv())

    assert asyncio.run(ping()) == ("wemaster.token", {"type": "pong"})


def test_a_withdrawal_requested_over_rest_is_paid_by_the_celery_worker(live):
    carol = live.data["carol"]
    status, withdrawal = live.request(
        "POST",
        "/api/v1/earnings/withdrawals",
        token=carol["token"],
        body={"amount": "40.00", "payout_method": carol["payout_method"]},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert status == 201, withdrawal
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        _, listing = live.request("GET", "/api/v1/earnings/withdrawals", token=carol["token"])
        current = next(row for row in listing["results"] if row["id"] == withdrawal["id"])
        if current["status"] in ("paid", "failed"):
            break
        time.sleep(0.2)
    assert current["status"] == "paid"
    # The provider's own record (the sandbox's table, written outside the app's transactions).
    assert live.sql(
        "SELECT p.amount, p.status FROM payments_sandbox_record p JOIN earnings_withdrawal w "
        f"ON p.idem_key = w.provider_key WHERE p.kind = 'payout' AND w.id = {withdrawal['id']}"
    ) == [(4_000, "succeeded")]
    assert live.sql("SELECT count(*) FROM payments_sandbox_record WHERE kind = 'payout'") == [(1,)]
    _, overview = live.request("GET", "/api/v1/earnings/overview", token=carol["token"])
    assert (overview["available"], overview["paid_out"]) == ("60.00", "40.00")
