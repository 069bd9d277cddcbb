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

Memory per connection is bounded: replays read `MESSAGING_REPLAY_BATCH` rows at a time,
the channel layer's `capacity` caps queued live events, and a connection silent for
`MESSAGING_WS_IDLE_TIMEOUT` seconds is closed (clients send `{"type": "ping"}`; the
ASGI server's websocket ping/timeout handles dead peers underneath).
"""

import asyncio
import json
import time
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from rest_framework import status

from messaging import selectors, services
from messaging.api.serializers import ReadFrameSerializer, SendFrameSerializer, TypingFrameSerializer
from messaging.events import frame, user_group
from wemaster.core import metrics
from wemaster.core.db_router import routing_scope
from wemaster.core.errors import DomainError, ValidationFailed
from wemaster.core.throttles import rate_limit_hit

CLOSE_UNAUTHENTICATED = 4401
CLOSE_IDLE = 4408


class SendThrottled(DomainError):
    code = "throttled"
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_detail = "Too many messages; slow down."

    def __init__(self, retry_after: float):
        super().__init__()
        self.retry_after = int(retry_after + 0.999)


class UnknownFrame(DomainError):
    code = "unknown_type"
    default_detail = "Unknown frame type."


def _since(scope) -> int | None:
    raw = (parse_qs(scope.get("query_string", b"").decode("latin-1")).get("since") or [""])[0]
    return int(raw) if raw.isascii() and raw.isdigit() else None


def _validated(serializer_class, content: dict) -> dict:
    data = serializer_class(data=content)
    if not data.is_valid():
        raise ValidationFailed(fields=data.errors)
    return data.validated_data


class ChatConsumer(AsyncJsonWebsocketConsumer):
    """Refuses anonymous handshakes (close code 4401); joins the user's group otherwise."""

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        self.group = user_group(user.id)
        # Join first: every event committed from now on reaches this channel's queue.
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        metrics.websocket_opened(self)
        since = _since(self.scope)
        watermark = await database_sync_to_async(selectors.event_watermark)(user_id=user.id)
        # A `since` beyond the latest event (a stale or forged value) must not mute later events.
        self.delivered = watermark if since is None else min(since, watermark)
        if since is not None:
            await self._replay()
        self.last_seen = time.monotonic()
        self.idle_watch = asyncio.ensure_future(self._close_when_idle())

    async def disconnect(self, code):
        metrics.websocket_closed(self)
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)
        if hasattr(self, "idle_watch"):
            self.idle_watch.cancel()

    async def _replay(self):
        """Send stored events above `delivered`, oldest first, a batch at a time."""
        batch_size = settings.MESSAGING_REPLAY_BATCH
        while True:
            batch = await database_sync_to_async(selectors.events_after)(
                user_id=self.user.id, since=self.delivered, limit=batch_size
            )
            for event in batch:
                await self.send_json(frame(event))
                self.delivered = event.seq
            if len(batch) < batch_size:
                return

    async def _close_when_idle(self):
        timeout = settings.MESSAGING_WS_IDLE_TIMEOUT
        while True:
            await asyncio.sleep(max(1.0, self.last_seen + timeout - time.monotonic()))
            if time.monotonic() - self.last_seen >= timeout:
                await self.close(code=CLOSE_IDLE)
                return

    # --- server -> client ---------------------------------------------------------------------

    async def chat_event(self, message):
        """A published event for this user (`events.LAYER_EVENT_TYPE`)."""
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
        await self.send_json(event)
        self.delivered = event_id

    # --- client -> server ---------------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None):
        self.last_seen = time.monotonic()
        try:
            content = json.loads(text_data or bytes_data or b"")
        except ValueError:
            await self._send_error(DomainError("Frames are JSON objects."), code="parse_error")
            return
        if not isinstance(content, dict):
            await self._send_error(DomainError("Frames are JSON objects."), code="parse_error")
            return
        await self.receive_json(content)

    async def receive_json(self, content, **kwargs):
        kind = content.get("type")
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

    def _as_user(self, handler, content: dict) -> None:
        """Run a frame's service call; what it writes is the user's own, so the user's next reads
        (REST, any worker) wait for the replicas to replay it."""
        with routing_scope(user_id=self.user.id):
            handler(content)

    def _send_message(self, content: dict) -> None:
        data = _validated(SendFrameSerializer, content)
        wait = rate_limit_hit("message_send", str(self.user.id))
        if wait is not None:
            raise SendThrottled(wait)
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
        data = _validated(ReadFrameSerializer, content)
        services.conversation_mark_read(
            user=self.user, conversation_id=data["conversation"], message_id=data["message_id"]
        )

    async def _send_error(self, exc: DomainError, *, code: str | None = None, request: dict | None = None):
        body = {"type": "error", "code": code or exc.code, "detail": str(exc.detail)}
        if exc.fields:
            body["fields"] = exc.fields
        if isinstance(exc, SendThrottled):
            body["retry_after"] = exc.retry_after
        if request is not None:
            body["request"] = {key: request.get(key) for key in ("type", "conversation", "client_id") if key in request}
        await self.send_json(body)
