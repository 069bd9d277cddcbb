"""Chat websocket (docs/ARCHITECTURE.md, Websockets and events): one connection per client, one group per user.

Delivery without loss or duplicates across a reconnect: the consumer joins the user's
group before anything else, then replays the stored events above `?since=` in batches,
remembering the highest `event_id` sent (`delivered`). Live events published meanwhile
wait in this channel's channel-layer queue (the consumer handles one message at a time,
so they are dispatched only after the replay) and any whose id is not above `delivered`
is dropped. A live event that skips ahead (an earlier one still in flight or dropped by a
full channel) makes the consumer read the gap from the event table first, so the client
always sees its events in order. Without `since` delivery starts after the latest event.

Consumers read the primary (no replica-safe scope is open here): the watermark and every
replay come from the database of record, so a lagging replica can neither hide an event
nor make one arrive twice.

Access ends with the session (wemaster/core/revocation.py): `session.revoked` on the user's
group closes the socket (4401) when it names no token or this socket's, and every incoming
frame first compares the user's session version with the one read at connect, so a
revocation holds even if its broadcast was lost. The token is re-checked once the group is
joined, so a revocation committed during the handshake is caught by one or the other.

Resources per connection are bounded: the handshake's inputs (wemaster/core/channels_auth.py),
each frame's size and shape (`parse_frame`: any other shape is an error frame, never a crash),
the sockets of one user (`MESSAGING_WS_MAX_SOCKETS_PER_USER`, the oldest closed with 4409,
messaging/sockets.py), what the server buffers for a client that does not read (every send
waits for the socket to drain, wemaster/core/ws_flow.py; a replay holds one batch of
`MESSAGING_REPLAY_BATCH` rows, released as sent), the channel layer's `capacity` for queued
live events, and silence (`MESSAGING_WS_IDLE_TIMEOUT`, then 4408; clients send
`{"type": "ping"}`).
"""

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs

import structlog
from channels.db import DatabaseSyncToAsync, database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.db import connections

from messaging import selectors, services, sockets
from messaging.api.serializers import ReadFrameSerializer, SendFrameSerializer, TypingFrameSerializer
from messaging.errors import FrameParseError, FrameTooLarge, Throttled, UnknownFrame
from messaging.events import CONVERSATION_READ, frame, user_group
from wemaster.core import authentication, metrics, revocation
from wemaster.core.channels_auth import CLOSE_UNAUTHENTICATED
from wemaster.core.db_router import routing_scope
from wemaster.core.errors import DomainError, ValidationFailed
from wemaster.core.logging import REQUEST_ID_HEADER, bind_websocket
from wemaster.core.throttles import rate_limit_hit

logger = structlog.get_logger(__name__)

CLOSE_IDLE = 4408
CLOSE_REPLACED = 4409  # the user opened more than MESSAGING_WS_MAX_SOCKETS_PER_USER sockets

# Read pointers remembered per socket (to coalesce repeated `read` frames), most recent kept.
_READ_MEMO_SIZE = 256
# What an error frame echoes of the request: scalars only, so a hostile frame is not sent back.
_ECHOED_FIELDS = ("type", "conversation", "client_id")
_ECHOED_TEXT_MAX = 100


class _OffTheDatabaseThread(DatabaseSyncToAsync):
    """A call on a thread pool rather than channels' one database thread, which leaves no database
    connection with the pool's thread: Django's `close_old_connections` alone was seen to keep
    one open there (the test database could then not be dropped), and a long-lived thread must not
    hold a connection between calls."""

    def __init__(self, function, executor=None):
        super().__init__(function, thread_sensitive=False, executor=executor)

    def thread_handler(self, loop, *args, **kwargs):
        try:
            return super().thread_handler(loop, *args, **kwargs)
        finally:
            connections.close_all()


# Replays read on threads of their own rather than on channels' one database thread, where a
# socket replaying a long history would hold up every other socket's handshake and frames; two
# of them, so replays decoding large events cannot starve the event loop of the interpreter
# either.
_REPLAY_THREADS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ws-replay")
_events_after = _OffTheDatabaseThread(selectors.events_after, executor=_REPLAY_THREADS)


def _off_the_database_thread(function):
    """Redis-only work (the session version, the socket count) runs on the loop's thread pool,
    never queued behind the database calls of every socket on channels' one database thread: a
    ping is answered at once while replays are read. (A cache call that recovers from an outage
    runs the breaker's recovery hooks, which may use the database.)"""
    return _OffTheDatabaseThread(function)


def _since(scope) -> int | None:
    raw = (parse_qs(scope.get("query_string", b"").decode("latin-1")).get("since") or [""])[0]
    return int(raw) if raw.isascii() and raw.isdigit() else None


def _size_over(raw: str | bytes, limit: int) -> bool:
    if len(raw) > limit:
        return True
    # A character is one to four bytes: only a text near the limit is worth encoding.
    return isinstance(raw, str) and len(raw) * 4 > limit and len(raw.encode("utf-8", "surrogatepass")) > limit


def parse_frame(text_data: str | None, bytes_data: bytes | None) -> dict:
    """The frame as a JSON object with a string `type`. Raises FrameTooLarge (over
    `MESSAGING_WS_MAX_FRAME_BYTES`), FrameParseError (not JSON, nested past the interpreter's
    recursion limit, not an object) or UnknownFrame (`type` missing or not a string)."""
    raw = text_data if text_data is not None else bytes_data
    if raw is None:
        raise FrameParseError()
    limit = settings.MESSAGING_WS_MAX_FRAME_BYTES
    if _size_over(raw, limit):
        raise FrameTooLarge(f"Frames are at most {limit} bytes.")
    try:
        content = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise FrameParseError() from exc
    if not isinstance(content, dict):
        raise FrameParseError()
    if not isinstance(content.get("type"), str):
        raise UnknownFrame()
    return content


def _validated(serializer_class, content: dict) -> dict:
    data = serializer_class(data=content)
    if not data.is_valid():
        raise ValidationFailed(fields=data.errors)
    return data.validated_data


def _throttle(scope: str, user_id: int) -> None:
    wait = rate_limit_hit(scope, str(user_id))
    if wait is not None:
        raise Throttled(wait)


def _echo(request: dict) -> dict:
    def scalar(value):
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, str) and len(value) <= _ECHOED_TEXT_MAX
        )

    return {key: request[key] for key in _ECHOED_FIELDS if scalar(request.get(key))}


class ChatConsumer(AsyncJsonWebsocketConsumer):
    """Joins the user's group and delivers the user's events; refuses (4401) a scope without the
    user and token `TokenAuthMiddleware` puts there."""

    group: str | None = None
    idle_watch: asyncio.Future | None = None
    registered = False
    closing = False

    # --- lifecycle ----------------------------------------------------------------------------

    async def connect(self):
        self.flow = self.scope.get("ws_flow")
        self.read_upto: dict[int, int] = {}
        user = self.scope.get("user")
        subprotocol = self.scope.get("ws_subprotocol")
        authenticated = user is not None and user.is_authenticated and bool(self.scope.get("auth_token"))
        # Every line this socket writes carries its request id and user (never the query string).
        request_id = bind_websocket(self.scope, user_id=user.id if authenticated else None)
        headers = [(REQUEST_ID_HEADER.encode(), request_id.encode())]
        if not authenticated:
            await self.accept(subprotocol=subprotocol, headers=headers)
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        self.group = user_group(user.id)
        # Join first: every event and revocation committed from now on reaches this channel.
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept(subprotocol=subprotocol, headers=headers)
        metrics.websocket_opened(self)
        logger.info("websocket_connected")
        opened = await database_sync_to_async(self._open_session)()
        if opened is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        watermark, evicted = opened
        for channel in evicted:
            await self.channel_layer.send(channel, {"type": "socket.evicted"})
        since = _since(self.scope)
        # A `since` beyond the latest event (a stale or forged value) must not mute later events.
        self.delivered = watermark if since is None else min(since, watermark)
        if since is not None:
            await self._replay()
        self.last_seen = time.monotonic()
        self.idle_watch = asyncio.ensure_future(self._close_when_idle())

    def _open_session(self) -> tuple[int, list[str]] | None:
        """Once the group is joined: the session version this socket holds, the token checked
        again (a revocation committed since the handshake's lookup), the socket counted against
        the user's cap (the channels to evict), and the event watermark. None if revoked."""
        self.session_version = revocation.session_version(self.user.id)
        current = authentication.user_for_token(self.scope["auth_token"])
        if current is None or current.id != self.user.id:
            return None
        evicted = sockets.socket_register(user_id=self.user.id, channel_name=self.channel_name)
        self.registered = True
        return selectors.event_watermark(user_id=self.user.id), evicted

    async def close(self, code=None, reason=None):
        """Close once; frames still arriving before the disconnect are ignored."""
        if self.closing:
            return
        self.closing = True
        await super().close(code=code, reason=reason)

    async def disconnect(self, code):
        metrics.websocket_closed(self)
        logger.info("websocket_disconnected", code=code)
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
        if self.idle_watch is not None:
            self.idle_watch.cancel()
        if self.registered:
            await _off_the_database_thread(sockets.socket_unregister)(
                user_id=self.user.id, channel_name=self.channel_name
            )

    def _sending(self) -> bool:
        """Whether frames still reach the client (not closed by us, by a revocation, or as a slow
        reader by the send flow control)."""
        return not self.closing and not (self.flow is not None and self.flow.closed)

    async def _close_when_idle(self):
        timeout = settings.MESSAGING_WS_IDLE_TIMEOUT
        while True:
            await asyncio.sleep(max(1.0, self.last_seen + timeout - time.monotonic()))
            if time.monotonic() - self.last_seen >= timeout:
                await self.close(code=CLOSE_IDLE)
                return
            await _off_the_database_thread(sockets.sockets_keep_alive)(user_id=self.user.id)

    # --- server -> client ---------------------------------------------------------------------

    async def _replay(self):
        """Send stored events above `delivered`, oldest first, a batch at a time. Each send waits
        while the client is not reading (ws_flow), so at most one batch is held."""
        batch_size = settings.MESSAGING_REPLAY_BATCH
        while self._sending():
            batch = await _events_after(user_id=self.user.id, since=self.delivered, limit=batch_size)
            complete = len(batch) < batch_size
            batch.reverse()
            while batch and self._sending():
                event = batch.pop()  # an event sent is released while the rest wait
                await self._deliver(frame(event))
                self.delivered = event.seq
            if complete:
                return

    async def _deliver(self, event: dict) -> None:
        if event["type"] == CONVERSATION_READ and event.get("user") == self.user.id:
            self._remember_read(event["conversation"], event["message_id"])
        await self.send_json(event)

    async def chat_event(self, message):
        """A published event for this user (`events.LAYER_EVENT_TYPE`)."""
        if not self._sending():
            return
        event = message["event"]
        event_id = event.get("event_id")
        if event_id is None:  # typing: ephemeral, unnumbered
            await self.send_json(event)
            return
        if event_id <= self.delivered:
            return
        if event_id > self.delivered + 1:
            await self._replay()  # fills the gap and includes this event
            return
        await self._deliver(event)
        self.delivered = event_id

    async def session_revoked(self, message):
        """`revocation.LAYER_REVOKED_TYPE`: all the user's sessions, or the one of a token."""
        token_key = message.get("token_key")
        if token_key is None or token_key == self.scope.get("token_key"):
            await self.close(code=CLOSE_UNAUTHENTICATED)

    async def socket_evicted(self, message):
        """A newer socket of the user took this one's place under the per-user cap."""
        await self.close(code=CLOSE_REPLACED)

    # --- client -> server ---------------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None):
        if self.closing:
            return
        self.last_seen = time.monotonic()
        try:
            content = parse_frame(text_data, bytes_data)
        except DomainError as exc:
            await self._send_error(exc)
            return
        await self.receive_json(content)

    async def receive_json(self, content, **kwargs):
        if await _off_the_database_thread(self._session_revoked)():
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        kind = content["type"]
        if kind == "ping":
            await self.send_json({"type": "pong"})
            return
        handler = {"message.send": self._send_message, "typing": self._typing, "read": self._read}.get(kind)
        try:
            if handler is None:
                raise UnknownFrame()
            await database_sync_to_async(self._as_user)(handler, content)
        except DomainError as exc:
            await self._send_error(exc, request=content)

    def _session_revoked(self) -> bool:
        """The check every frame pays (one cache round trip): were all the user's sessions, or this
        socket's token, revoked since it connected? (A lost `session.revoked` broadcast still ends
        the session here.)"""
        return revocation.session_revoked(
            self.user.id, since_version=self.session_version, token_key=self.scope.get("token_key")
        )

    def _as_user(self, handler, content: dict) -> None:
        """Run a frame's service call; what it writes is the user's own, so the user's next reads
        (REST, any worker) wait for the replicas to replay it."""
        with routing_scope(user_id=self.user.id):
            handler(content)

    def _send_message(self, content: dict) -> None:
        data = _validated(SendFrameSerializer, content)
        _throttle("message_send", self.user.id)
        services.message_send(
            sender=self.user,
            conversation_id=data["conversation"],
            body=data["body"],
            client_id=data.get("client_id"),
        )

    def _typing(self, content: dict) -> None:
        data = _validated(TypingFrameSerializer, content)
        services.typing_notify(user=self.user, conversation_id=data["conversation"])

    def _read(self, content: dict) -> None:
        """Move the read pointer; a frame that would not move it past what this socket knows
        (sent before, or seen in a `conversation.read` of the user) costs no transaction and no
        rate-limit hit. The rest count against the `ws_read` scope."""
        data = _validated(ReadFrameSerializer, content)
        conversation, message_id = data["conversation"], data["message_id"]
        if message_id <= self.read_upto.get(conversation, 0):
            return
        _throttle("ws_read", self.user.id)
        services.conversation_mark_read(user=self.user, conversation_id=conversation, message_id=message_id)
        self._remember_read(conversation, message_id)

    def _remember_read(self, conversation: int, message_id: int) -> None:
        if message_id <= self.read_upto.get(conversation, 0):
            return
        self.read_upto.pop(conversation, None)
        self.read_upto[conversation] = message_id
        if len(self.read_upto) > _READ_MEMO_SIZE:
            del self.read_upto[next(iter(self.read_upto))]

    async def _send_error(self, exc: DomainError, *, request: dict | None = None):
        body = {"type": "error", "code": exc.code, "detail": str(exc.detail)}
        if exc.fields:
            body["fields"] = exc.fields
        if isinstance(exc, Throttled):
            body["retry_after"] = exc.retry_after
        if request is not None:
            body["request"] = _echo(request)
        await self.send_json(body)
