"""Back-pressure for websocket sends: a client that does not read cannot make the server buffer.

Under daphne an ASGI `send` returns as soon as the frame is handed to Twisted, whose transport
buffers whatever the peer does not read, without limit: 80 sockets replaying 10 MB each that
never read grew one process by 600 MB. `SendFlowControl` wraps the server's `send` so that,
like a stream's `drain()`, it does not return while the socket's write buffer is over
Twisted's `bufferSize` (64 KiB): it registers itself as the transport's streaming producer,
which Twisted pauses when that buffer fills and resumes when it has drained. A buffer still
full after `MESSAGING_WS_SEND_TIMEOUT` seconds closes the socket with `CLOSE_SLOW_READER`
(autobahn drops the connection, and its buffer, when the peer does not answer the close
within a second).

So a socket holds at most 64 KiB plus one frame in the server, and a replay waits for the
client instead of reading the next batch. Under an ASGI server without a Twisted transport
(uvicorn's `send` already awaits the drain; channels' test communicator) the wrapper only keeps
its other rule: nothing is sent after a close, which daphne would otherwise raise on.
"""

import asyncio
import functools
import logging
import socket

from django.conf import settings
from prometheus_client import Counter

logger = logging.getLogger(__name__)

# The idle close code too (messaging/consumers.py): the client fell silent, or stopped reading.
# autobahn sends only 1000 and 3000-4999, so not 1013 ("try again later").
CLOSE_SLOW_READER = 4408

slow_readers_closed = Counter(
    "wemaster_ws_slow_readers_closed_total", "Websockets closed because the client did not read its frames"
)


def _transport_of(send):
    """The socket's Twisted transport under daphne, whose `send` is
    `partial(Server.handle_reply, protocol)`; None under any other server."""
    protocol = send.args[0] if isinstance(send, functools.partial) and send.args else None
    transport = getattr(protocol, "transport", None)
    return transport if hasattr(transport, "registerProducer") else None


class SendFlow:
    """One socket's sending side; a Twisted IPushProducer for its transport."""

    def __init__(self, server_send):
        self._server_send = server_send
        self._drained = asyncio.Event()
        self._drained.set()
        self.closed = False

    # --- IPushProducer, called by the transport (on the event loop daphne shares with Twisted) ---

    def pauseProducing(self):
        self._drained.clear()

    def resumeProducing(self):
        self._drained.set()

    def stopProducing(self):
        """The connection is gone: release a waiting sender, send nothing more."""
        self.closed = True
        self._drained.set()

    # --- the ASGI send ------------------------------------------------------------------------

    async def send(self, message):
        kind = message["type"]
        if self.closed and kind in ("websocket.send", "websocket.close"):
            return
        await self._server_send(message)
        if kind == "websocket.accept":
            self._watch_transport()
        elif kind == "websocket.close":
            self.closed = True
        elif kind == "websocket.send" and not self._drained.is_set():
            await self._wait_for_reader()

    def _watch_transport(self) -> None:
        transport = _transport_of(self._server_send)
        if transport is None:
            return
        # daphne hands the websocket the HTTP channel's transport with that channel still
        # registered as its producer; it has no use for it once the socket is upgraded.
        if transport.producer is not None:
            transport.unregisterProducer()
        transport.registerProducer(self, True)
        # The kernel's send buffer grows to megabytes for a peer that does not read (Linux
        # autotuning); fixed at the size of Twisted's, a slow reader stalls within two of them.
        handle = transport.getHandle() if hasattr(transport, "getHandle") else None
        if hasattr(handle, "setsockopt"):
            handle.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, transport.bufferSize)

    async def _wait_for_reader(self) -> None:
        try:
            await asyncio.wait_for(self._drained.wait(), settings.MESSAGING_WS_SEND_TIMEOUT)
        except TimeoutError:
            slow_readers_closed.inc()
            logger.info("websocket closed: the client does not read", extra={"code": CLOSE_SLOW_READER})
            await self._server_send({"type": "websocket.close", "code": CLOSE_SLOW_READER})
            self.closed = True


class SendFlowControl:
    """ASGI middleware: websocket sends go through a `SendFlow`, exposed as `scope["ws_flow"]`
    so a consumer can stop producing once its socket is closed."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return await self.application(scope, receive, send)
        flow = SendFlow(send)
        return await self.application(dict(scope, ws_flow=flow), receive, flow.send)
