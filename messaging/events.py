"""Real-time events: persisted per recipient, published to each user's group on commit.

Every event a service emits becomes one `Event` row per recipient, numbered by the
recipient's `EventSequence` (locked in user-id order for the rest of the transaction, so
a user's events commit in number order), then is sent with `group_send` once the
transaction commits (`events_publish_on_commit`). Typing events are neither numbered
nor stored (`typing_publish`).

Publishing is best effort: when the channel layer's Redis cannot be reached (a failover, an
outage) the rest of the batch is dropped, logged and counted, and the request that made the
change still succeeds. Nothing is lost: an open socket reads the gap from the stored events
when the next event reaches it, and a reconnecting client replays from its `since`.
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.db.models import F
from prometheus_client import Counter
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from messaging.models import Event, EventSequence, Message
from wemaster.core import revocation

logger = logging.getLogger(__name__)

unpublished = Counter(
    "wemaster_messaging_events_unpublished_total",
    "Events not sent to the channel layer because its Redis could not be reached (delivered by replay)",
)
_CONNECTION_ERRORS = (RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError)

MESSAGE_CREATED = "message.created"
MESSAGE_UPDATED = "message.updated"
MESSAGE_DELETED = "message.deleted"
CONVERSATION_READ = "conversation.read"
TYPING = "typing"

# The consumer method that receives a published event (`chat.event` -> `chat_event`).
LAYER_EVENT_TYPE = "chat.event"


user_group = revocation.user_group  # one group per user: chat events and session revocations


def isoformat(value) -> str | None:
    """Same text as DRF's DateTimeField renders, so websocket and REST bodies match."""
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def message_as_dict(message: Message) -> dict:
    """The message object of the API (REST bodies and websocket frames alike)."""
    return {
        "id": message.id,
        "conversation": message.conversation_id,
        "sender": message.sender_id,
        "body": message.body,
        "client_id": message.client_id,
        "created_at": isoformat(message.created_at),
        "edited_at": isoformat(message.edited_at),
        "deleted": message.deleted,
    }


def frame(event: Event) -> dict:
    return {"type": event.type, "event_id": event.seq, **event.payload}


def _lock_sequences(user_ids: list[int]) -> list[EventSequence]:
    """Lock the recipients' sequence rows in user-id order (a fixed order prevents deadlocks)."""
    rows = list(EventSequence.objects.select_for_update().filter(user_id__in=user_ids).order_by("user_id"))
    if len(rows) < len(user_ids):
        EventSequence.objects.bulk_create(
            [EventSequence(user_id=user_id) for user_id in user_ids], ignore_conflicts=True
        )
        rows = list(EventSequence.objects.select_for_update().filter(user_id__in=user_ids).order_by("user_id"))
    return rows


def events_emit(*, user_ids, type: str, payload: dict) -> list[Event]:
    """Store `type`/`payload` as the next event of each user and publish them on commit.

    Precondition: inside the transaction that made the change the event reports (the
    sequence locks are held until it ends). Costs three queries whatever the recipients.
    """
    recipients = sorted(set(user_ids))
    if not recipients:
        return []
    sequences = _lock_sequences(recipients)
    EventSequence.objects.filter(user_id__in=recipients).update(last_seq=F("last_seq") + 1)
    events = Event.objects.bulk_create(
        [Event(user_id=row.user_id, seq=row.last_seq + 1, type=type, payload=payload) for row in sequences]
    )
    events_publish_on_commit(events)
    return events


def events_publish_on_commit(events: list[Event]) -> None:
    """The one helper that sends stored events to their users' groups, after commit only."""
    messages = [(user_group(event.user_id), frame(event)) for event in events]
    transaction.on_commit(lambda: _group_send_all(messages))


def typing_publish(*, conversation_id: int, user_id: int, recipient_ids) -> None:
    """Typing is ephemeral: sent at once, never stored, no event number."""
    payload = {"type": TYPING, "event_id": None, "conversation": conversation_id, "user": user_id}
    _group_send_all([(user_group(recipient), payload) for recipient in recipient_ids])


def _group_send_all(messages: list[tuple[str, dict]]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    async_to_sync(_send_many)(layer, messages)


async def _send_many(layer, messages: list[tuple[str, dict]]) -> None:
    for sent, (group, payload) in enumerate(messages):
        try:
            await layer.group_send(group, {"type": LAYER_EVENT_TYPE, "event": payload})
        except _CONNECTION_ERRORS as exc:
            # The next sends would wait on the same dead connection: give up on the batch.
            unpublished.inc(len(messages) - sent)
            logger.warning(
                "events not published: channel layer unreachable",
                extra={"unpublished": len(messages) - sent, "error": repr(exc)},
            )
            return
