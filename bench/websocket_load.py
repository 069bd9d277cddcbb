"""Websocket delivery: REST send -> `message.created` frame at the recipient's socket.

asyncio + `websockets` clients through nginx (the two daphne processes behind it). Each
receiver is a distinct user in a 1:1 conversation with one sender; the sender posts
through the REST API (in a few threads) and the latency is send start -> frame received.
"""

import asyncio
import json
import time
import uuid
from collections.abc import Callable

import requests
from websockets.asyncio.client import connect

SEND_CONCURRENCY = 4
CONNECT_BATCH = 50
DRAIN_SECONDS = 10


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))] if ordered else float("nan")


class Receivers:
    def __init__(self, base_url: str):
        self.ws_url = base_url.replace("http://", "ws://") + "/ws/chat/"
        self.origin = base_url
        self.received: dict[str, float] = {}
        self.sockets = []
        self.tasks = []

    async def open(self, users: list[dict]) -> None:
        for start in range(0, len(users), CONNECT_BATCH):
            batch = users[start : start + CONNECT_BATCH]
            sockets = await asyncio.gather(
                *(
                    connect(f"{self.ws_url}?token={user['token']}", origin=self.origin, open_timeout=30, max_queue=64)
                    for user in batch
                )
            )
            for socket in sockets:
                self.sockets.append(socket)
                self.tasks.append(asyncio.create_task(self._listen(socket)))

    async def _listen(self, socket) -> None:
        async for raw in socket:
            frame = json.loads(raw)
            if frame.get("type") == "message.created":
                body = frame["message"].get("body", "")
                self.received.setdefault(body, time.perf_counter())

    async def close(self) -> None:
        await asyncio.gather(*(socket.close() for socket in self.sockets), return_exceptions=True)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def _send_all(base_url: str, token: str, targets: list[int], sent: dict[str, float]) -> int:
    """POST one message per target conversation; returns how many were accepted."""
    queue: asyncio.Queue = asyncio.Queue()
    for conversation in targets:
        queue.put_nowait(conversation)
    accepted = 0

    def post(session: requests.Session, conversation: int) -> bool:
        body = f"bench {uuid.uuid4().hex}"
        sent[body] = time.perf_counter()
        response = session.post(
            f"{base_url}/api/v1/conversations/{conversation}/messages", json={"body": body}, timeout=30
        )
        if response.status_code not in (200, 201):
            sent.pop(body)
            return False
        return True

    async def worker():
        nonlocal accepted
        session = requests.Session()
        session.headers["Authorization"] = f"Token {token}"
        while not queue.empty():
            conversation = queue.get_nowait()
            ok = await asyncio.to_thread(post, session, conversation)
            accepted += ok
            await asyncio.sleep(0.01)

    await asyncio.gather(*(worker() for _ in range(SEND_CONCURRENCY)))
    return accepted


async def _phase(base_url: str, sender_token: str, users: list[dict], messages: int, rss: Callable | None):
    receivers = Receivers(base_url)
    before = rss() if rss else 0
    await receivers.open(users)
    await asyncio.sleep(3)
    after = rss() if rss else 0
    sent: dict[str, float] = {}
    targets = [users[i % len(users)]["conversation"] for i in range(messages)]
    accepted = await _send_all(base_url, sender_token, targets, sent)
    deadline = time.monotonic() + DRAIN_SECONDS
    while time.monotonic() < deadline and not all(body in receivers.received for body in sent):
        await asyncio.sleep(0.1)
    latencies = [(receivers.received[body] - at) * 1000 for body, at in sent.items() if body in receivers.received]
    await receivers.close()
    return {
        "clients": len(users),
        "sent": accepted,
        "lost": sum(1 for body in sent if body not in receivers.received),
        "p50_ms": _pct(latencies, 50),
        "p99_ms": _pct(latencies, 99),
        "max_ms": max(latencies, default=float("nan")),
        "rss_growth_bytes": after - before,
    }


async def run(*, base_url: str, sender_token: str, users: list[dict], messages: int, rss: Callable) -> dict:
    one = await _phase(base_url, sender_token, users[:1], messages, None)
    many = await _phase(base_url, sender_token, users, messages, rss)
    return {
        "one": one,
        "many": many,
        "rss_per_connection_kib": many["rss_growth_bytes"] / len(users) / 1024,
    }
