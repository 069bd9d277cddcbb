"""The websocket on a real daphne process (deploy/Procfile's `ws1` line) against this run's
PostgreSQL test database and Redis: what only a real server shows. Clients without an Origin
header, the subprotocol echoed through autobahn, a revocation crossing processes, the per-user
cap evicting a socket held by another process, and the memory of clients that never read.

The slow-reader measurement is the issue's attack (80 sockets, `since=0`, 2,000 events of
5,000 characters, none ever read) in a short form; the long form (`WS_SOAK=1`, `make soak`)
keeps the attack up for minutes in waves and bounds the growth the same way.
"""

import asyncio
import base64
import json
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest
import websockets
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.core.cache import caches

from bench.topology import Topology, free_port, wait_for
from messaging.models import Event, EventSequence
from reliability.live import ManagedProcess, wait_until
from tests.accounts.factories import token_for
from tests.reliability.conftest import live_database_url
from wemaster.asgi import application
from wemaster.core import revocation
from wemaster.core.channels_auth import SUBPROTOCOL

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.timeout(240),
    pytest.mark.django_db(transaction=True),
]

# The daphne's MESSAGING_WS_SEND_TIMEOUT: longer than opening every slow reader takes, so all of
# them hold a stalled replay at once (the worst case), short enough for a quick test.
SEND_TIMEOUT = 8
SLOW_READERS = 80
EVENTS = 2_000
BODY_CHARS = 5_000
# Peak growth allowed for 80 stalled replays: under one MiB per socket (the issue saw ~7.5 MiB).
RSS_GROWTH_BOUND = 80 * 1024 * 1024


class Daphne:
    def __init__(self, process: ManagedProcess, port: int):
        self.process, self.port = process, port

    @property
    def pid(self) -> int:
        return self.process.process.pid

    def rss(self) -> int:
        return psutil.Process(self.pid).memory_info().rss

    def url(self, query: str = "") -> str:
        return f"ws://127.0.0.1:{self.port}/ws/chat/{query}"

    def open_connections(self) -> int:
        return sum(
            1
            for conn in psutil.Process(self.pid).net_connections(kind="tcp")
            if conn.laddr and conn.laddr.port == self.port and conn.status == psutil.CONN_ESTABLISHED
        )


@pytest.fixture(scope="module")
def daphne(django_db_setup, django_db_blocker, tmp_path_factory):
    if not settings.USING_POSTGRES or not settings.REDIS_URL:
        pytest.skip("needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL)")
    port = free_port()
    with django_db_blocker.unblock():
        database_url, _, _ = live_database_url()
    env = Topology(database_url, settings.REDIS_URL, ports={"ws1": port}).env()
    env.update(
        RATE_LIMITS="off",
        MESSAGING_WS_SEND_TIMEOUT=str(SEND_TIMEOUT),
        MESSAGING_WS_MAX_SOCKETS_PER_USER="100",
        CACHE_KEY_PREFIX=settings.CACHE_KEY_PREFIX,
    )
    process = ManagedProcess("ws1", env, tmp_path_factory.mktemp("daphne") / "ws1.log").start()
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", timeout=60)
        yield Daphne(process, port)
    finally:
        process.stop()


async def close_code(connection) -> int:
    """The code the server closed with; 1006 when it dropped the connection without one."""
    with pytest.raises(websockets.ConnectionClosed) as closed:
        async with asyncio.timeout(5):
            while True:
                await connection.recv()
    return closed.value.rcvd.code if closed.value.rcvd else 1006


async def pong(connection) -> dict:
    await connection.send(json.dumps({"type": "ping"}))
    async with asyncio.timeout(5):
        return json.loads(await connection.recv())


def test_clients_without_origin_connect_with_a_token_and_read_the_refusals(daphne, alice):
    key = token_for(alice)

    async def scenario():
        async with websockets.connect(daphne.url(f"?token={key}")) as plain:  # sends no Origin
            assert await pong(plain) == {"type": "pong"}
        async with websockets.connect(daphne.url(), subprotocols=[SUBPROTOCOL, key]) as header:
            assert header.subprotocol == SUBPROTOCOL
            assert await pong(header) == {"type": "pong"}
        async with websockets.connect(daphne.url()) as anonymous:
            assert await close_code(anonymous) == 4401
        async with websockets.connect(daphne.url(f"?token={'0' * 40}"), subprotocols=[SUBPROTOCOL]) as unknown:
            assert unknown.subprotocol == SUBPROTOCOL  # a browser would accept it and read the code
            assert await close_code(unknown) == 4401
        async with websockets.connect(daphne.url(f"?token={key}"), origin="https://evil.example") as foreign:
            assert await close_code(foreign) == 4403
        async with websockets.connect(daphne.url(f"?token={'t' * 12000}")) as huge:
            assert await close_code(huge) == 4400

    asyncio.run(scenario())


def test_a_revocation_closes_a_socket_held_by_another_process_within_a_second(daphne, alice):
    key = token_for(alice)

    async def scenario():
        async with websockets.connect(daphne.url(f"?token={key}")) as connection:
            await pong(connection)  # connected and joined
            started = time.monotonic()
            await asyncio.to_thread(revocation.revoke_sessions, alice.id)
            assert await close_code(connection) == 4401
            return time.monotonic() - started

    assert asyncio.run(scenario()) < 1.0


def test_the_socket_cap_evicts_a_socket_held_by_another_process(daphne, alice, settings):
    settings.MESSAGING_WS_MAX_SOCKETS_PER_USER = 1  # this process registers the newer socket
    key = token_for(alice)

    async def scenario():
        async with websockets.connect(daphne.url(f"?token={key}")) as older:
            await pong(older)
            newer = WebsocketCommunicator(application, f"/ws/chat/?token={key}")
            assert (await newer.connect(timeout=5))[0]
            code = await close_code(older)
            await newer.send_json_to({"type": "ping"})
            assert await newer.receive_json_from(timeout=5) == {"type": "pong"}
            await newer.disconnect()
            return code

    assert async_to_sync(scenario)() == 4409


def test_frame_caps_an_error_frame_under_the_servers_limit_a_1009_over_it(daphne, alice):
    """The consumer answers frames over MESSAGING_WS_MAX_FRAME_BYTES (64 KiB) with an error;
    daphne (deploy/Procfile: 128 KiB) drops the connection of larger ones before they are
    buffered whole (autobahn fails it by drop: the client sees 1006)."""
    key = token_for(alice)

    async def scenario():
        async with websockets.connect(daphne.url(f"?token={key}")) as connection:
            answers = []
            for text in (json.dumps({"type": "ping", "pad": "x" * 100_000}), "[" * 30_000 + "]" * 30_000):
                await connection.send(text)
                async with asyncio.timeout(5):
                    answers.append(json.loads(await connection.recv())["code"])
            assert await pong(connection) == {"type": "pong"}
            await connection.send("[" * 100_000 + "]" * 100_000)
            return answers, await close_code(connection)

    assert asyncio.run(scenario()) == (["frame_too_large", "parse_error"], 1006)


def test_huge_and_garbage_tokens_cost_the_server_nothing(daphne):
    """The issue's 8-14 KB `?token=` handshakes took daphne 112 -> 310 MB: refused now before
    any lookup, they leave neither memory nor cache entries behind."""
    cache = caches["default"]
    auth_keys = set(cache.keys("auth:*"))

    async def scenario():
        codes = []
        for n in range(150):
            async with websockets.connect(daphne.url(f"?token={n:05d}{'t' * 12_000}")) as huge:
                codes.append(await close_code(huge))
            offered = [SUBPROTOCOL, f"{n:05d}" + "g" * 200]
            async with websockets.connect(daphne.url(), subprotocols=offered) as garbage:
                codes.append(await close_code(garbage))
        return codes

    # The allocator keeps freed heap at a high-water level that steps up for a few waves before it
    # levels off, where and when depending on the machine's load: measured 33-65 MiB above the
    # level after a first (warm-up) wave, which pays the one-time costs (imports, pools,
    # connections). So the RSS bounds the total growth only, well under the issue's +200 MB; that
    # the stack keeps no byte of a refused handshake is measured exactly, in-process, by
    # test_ws_handshake.py::test_refused_handshakes_retain_nothing_in_the_stack.
    assert asyncio.run(scenario()) == [4400, 4401] * 150
    levels = [daphne.rss()]
    for _ in range(6):
        assert asyncio.run(scenario()) == [4400, 4401] * 150
        levels.append(daphne.rss())
    print(f"daphne RSS after the warm-up wave, then after each of 300 (MiB): {[round(v / 2**20, 1) for v in levels]}")
    assert set(cache.keys("auth:*")) == auth_keys
    assert levels[-1] - levels[0] < 96 * 1024 * 1024


# --- slow readers ----------------------------------------------------------------------------


def store_replay(user, count: int = EVENTS) -> None:
    """`count` stored message events of BODY_CHARS characters each for `user` (as a busy day
    of a group chat would leave), written directly: the replay is what is measured."""
    body = ("lorem ipsum dolor sit amet " * (BODY_CHARS // 27 + 1))[:BODY_CHARS]
    Event.objects.bulk_create(
        [
            Event(
                user=user,
                seq=seq,
                type="message.created",
                payload={"message": {"id": seq, "conversation": 1, "sender": user.id, "body": f"{seq} {body}"}},
            )
            for seq in range(1, count + 1)
        ],
        batch_size=500,
    )
    EventSequence.objects.update_or_create(user=user, defaults={"last_seq": count})


def open_silent_reader(port: int, path: str) -> socket.socket:
    """A websocket whose client reads the handshake answer and then nothing, with the smallest
    receive buffer the kernel allows: the server's writes stall at once."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while not head.endswith(b"\r\n\r\n"):  # byte by byte: not one byte of a frame is read
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


class Peaks(threading.Thread):
    """The daphne's highest RSS and most open connections, sampled every 0.1 s."""

    def __init__(self, daphne: Daphne):
        super().__init__(daemon=True)
        self.daphne, self.rss, self.connections, self.done = daphne, daphne.rss(), 0, threading.Event()

    def run(self):
        while not self.done.wait(0.1):
            self.rss = max(self.rss, self.daphne.rss())
            self.connections = max(self.connections, self.daphne.open_connections())


def slow_reader_attack(daphne: Daphne, key: str, sockets_count: int) -> dict:
    """Open the silent readers with `since=0` while a normal client pings; figures of one wave."""
    path = f"/ws/chat/?token={key}&since=0"
    baseline = daphne.rss()
    sampler = Peaks(daphne)
    sampler.start()
    round_trips = []

    async def normal_client(stop: asyncio.Event):
        async with websockets.connect(daphne.url(f"?token={key}")) as connection:
            while not stop.is_set():
                started = time.monotonic()
                assert await pong(connection) == {"type": "pong"}
                round_trips.append(time.monotonic() - started)
                await asyncio.sleep(0.1)

    async def attack():
        stop = asyncio.Event()
        client = asyncio.create_task(normal_client(stop))
        with ThreadPoolExecutor(max_workers=20) as pool:  # as fast as the server lets them in
            readers = list(pool.map(lambda _: open_silent_reader(daphne.port, path), range(sockets_count)))
        opened = time.monotonic()
        # every slow reader is closed by the server: the normal client's socket is the one left
        closed_all = await asyncio.to_thread(
            wait_until, lambda: daphne.open_connections() <= 1, timeout=SEND_TIMEOUT + 20
        )
        seconds = time.monotonic() - opened
        stop.set()
        await client
        for reader in readers:
            reader.close()
        return closed_all, seconds

    closed_all, seconds = asyncio.run(attack())
    sampler.done.set()
    sampler.join()
    round_trips.sort()
    return {
        "baseline_rss": baseline,
        "peak_growth": sampler.rss - baseline,
        "peak_connections": sampler.connections,
        "closed_all": closed_all,
        "seconds_to_close": seconds,
        "ping_p99": round_trips[int(len(round_trips) * 0.99)] if round_trips else None,
        "pings": len(round_trips),
    }


def warm_up(daphne: Daphne, key: str) -> None:
    """One full replay read to the end, so code paths and pools are loaded before the baseline."""

    async def read_all():
        async with websockets.connect(daphne.url(f"?token={key}&since=0"), max_size=None) as connection:
            async with asyncio.timeout(60):
                while json.loads(await connection.recv())["event_id"] < EVENTS:
                    pass

    asyncio.run(read_all())


def test_clients_that_never_read_cannot_grow_the_server(daphne, alice, capsys):
    store_replay(alice)
    key = token_for(alice)
    warm_up(daphne, key)
    figures = slow_reader_attack(daphne, key, SLOW_READERS)
    with capsys.disabled():
        print(
            f"\n{SLOW_READERS} silent readers of {EVENTS} x {BODY_CHARS}-char events: daphne RSS "
            f"{figures['baseline_rss'] / 2**20:.0f} MiB + peak {figures['peak_growth'] / 2**20:.1f} MiB; all closed in "
            f"{figures['seconds_to_close']:.1f} s (at most {figures['peak_connections']} open at once);"
            f" normal client ping p99 {figures['ping_p99']:.3f} s"
            f" over {figures['pings']} pings"
        )
    assert figures["peak_connections"] > SLOW_READERS  # every reader stalled at once, and the client
    assert figures["closed_all"], "the server kept sockets whose clients never read"
    assert figures["peak_growth"] < RSS_GROWTH_BOUND
    assert figures["pings"] > 0 and figures["ping_p99"] < 1.0


@pytest.mark.skipif(os.environ.get("WS_SOAK") != "1", reason="long slow-reader soak: WS_SOAK=1 (make soak)")
@pytest.mark.timeout(1800)
def test_waves_of_slow_readers_do_not_accumulate(daphne, alice, capsys):
    store_replay(alice)
    key = token_for(alice)
    warm_up(daphne, key)
    waves, rss_after = [], []
    for _ in range(int(os.environ.get("WS_SOAK_WAVES", "20"))):
        waves.append(slow_reader_attack(daphne, key, SLOW_READERS))
        rss_after.append(daphne.rss())
    with capsys.disabled():
        print(f"\nRSS after each wave of {SLOW_READERS} silent readers (MiB):", [round(r / 2**20) for r in rss_after])
    assert all(wave["closed_all"] for wave in waves)
    assert max(wave["peak_growth"] for wave in waves) < RSS_GROWTH_BOUND
    # What one wave leaves behind (allocator arenas, garbage awaiting collection) is not added to
    # by the next: after the first wave the process stays within a quarter of the bound.
    assert max(rss_after) - rss_after[0] < RSS_GROWTH_BOUND / 4
    assert max(wave["ping_p99"] for wave in waves) < 1.0
