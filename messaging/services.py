"""Messaging writes. REST views, the websocket consumer, admin actions and seeding all
call these, so every path stores the same rows and emits the same events (on commit)."""

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from messaging import events
from messaging.models import Conversation, ConversationKind, EventSequence, Membership, Message
from wemaster.accounts.models import User
from wemaster.core.cache import invalidate_tags
from wemaster.core.errors import NotFound, ValidationFailed
from wemaster.notifications import notify


class ConversationNotFound(NotFound):
    default_detail = "Conversation not found."


class MessageNotFound(NotFound):
    default_detail = "Message not found."


class CannotLeaveDirect(ValidationFailed):
    code = "cannot_leave_direct"
    default_detail = "A 1:1 conversation cannot be left."


def unread_tag(user_id: int) -> str:
    return f"user:{user_id}:unread"


def _invalidate_unread(user_ids) -> None:
    invalidate_tags(*[unread_tag(user_id) for user_id in user_ids])


def _pair_key(a: int, b: int) -> str:
    low, high = sorted((a, b))
    return f"{low}:{high}"


def _check_body(body: str) -> str:
    if not body or not body.strip():
        raise ValidationFailed(fields={"body": ["The message body may not be blank."]})
    if len(body) > settings.MESSAGING_MAX_BODY_CHARS:
        raise ValidationFailed(
            fields={"body": [f"Ensure this field has no more than {settings.MESSAGING_MAX_BODY_CHARS} characters."]}
        )
    return body


def member_ids(conversation_id: int) -> list[int]:
    return list(
        Membership.objects.filter(conversation_id=conversation_id, left_at__isnull=True).values_list(
            "user_id", flat=True
        )
    )


def membership_get(*, user: User, conversation_id: int, lock: bool = False) -> Membership:
    """The caller's current membership. Raises ConversationNotFound for anyone else (404, never 403)."""
    qs = Membership.objects.filter(user_id=user.id, conversation_id=conversation_id, left_at__isnull=True)
    if lock:
        qs = qs.select_for_update()
    membership = qs.first()
    if membership is None:
        raise ConversationNotFound()
    return membership


def _add_members(conversation: Conversation, user_ids) -> None:
    Membership.objects.bulk_create([Membership(conversation=conversation, user_id=user_id) for user_id in user_ids])
    EventSequence.objects.bulk_create([EventSequence(user_id=user_id) for user_id in user_ids], ignore_conflicts=True)


def _check_participants(*, creator: User, participant_ids: list[int]) -> list[int]:
    others = sorted({pid for pid in participant_ids if pid != creator.id})
    if not others:
        raise ValidationFailed(fields={"participant_ids": ["Name at least one other user."]})
    if len(others) + 1 > settings.MESSAGING_MAX_GROUP_MEMBERS:
        raise ValidationFailed(
            fields={"participant_ids": [f"A conversation has at most {settings.MESSAGING_MAX_GROUP_MEMBERS} members."]}
        )
    found = set(User.objects.filter(id__in=others, is_active=True).values_list("id", flat=True))
    missing = [pid for pid in others if pid not in found]
    if missing:
        raise ValidationFailed(fields={"participant_ids": [f"Unknown users: {missing}."]})
    return others


def conversation_create(*, creator: User, participant_ids: list[int], title: str = "") -> tuple[Conversation, bool]:
    """A 1:1 conversation (one other participant, no title) or a group; returns (conversation, created).

    A 1:1 with the same pair returns the existing conversation, also when both users
    create it at the same moment: the unique pair key lets one insert win and the other
    reads the winner.
    """
    others = _check_participants(creator=creator, participant_ids=participant_ids)
    title = title.strip()
    if len(others) == 1 and not title:
        return _direct_get_or_create(creator=creator, other_id=others[0])
    with transaction.atomic():
        conversation = Conversation.objects.create(kind=ConversationKind.GROUP, title=title, created_by=creator)
        _add_members(conversation, [creator.id, *others])
    return conversation, True


def _direct_get_or_create(*, creator: User, other_id: int) -> tuple[Conversation, bool]:
    key = _pair_key(creator.id, other_id)
    existing = Conversation.objects.filter(pair_key=key).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            conversation = Conversation.objects.create(kind=ConversationKind.DIRECT, pair_key=key, created_by=creator)
            _add_members(conversation, [creator.id, other_id])
    except IntegrityError:
        return Conversation.objects.get(pair_key=key), False
    return conversation, True


@transaction.atomic
def conversation_leave(*, user: User, conversation_id: int) -> None:
    """Leave a group: history and events stop for the user. Raises ConversationNotFound, CannotLeaveDirect."""
    membership = membership_get(user=user, conversation_id=conversation_id, lock=True)
    if membership.conversation.kind == ConversationKind.DIRECT:
        raise CannotLeaveDirect()
    membership.left_at = timezone.now()
    membership.save(update_fields=["left_at"])
    _invalidate_unread([user.id])


def message_send(
    *, sender: User, conversation_id: int, body: str, client_id: str | None = None
) -> tuple[Message, bool]:
    """Store a message, move the conversation's last activity and the sender's read pointer
    (to this message), emit `message.created` to every member; returns (message, created).

    The same `client_id` from the same sender returns the first message (created=False)
    and emits nothing, so a retried send is harmless. Raises ConversationNotFound for a
    non-member, ValidationFailed for an empty or too long body.
    """
    body = _check_body(body)
    with transaction.atomic():
        membership_get(user=sender, conversation_id=conversation_id)
        if client_id:
            existing = _message_by_client_id(sender=sender, conversation_id=conversation_id, client_id=client_id)
            if existing is not None:
                return existing, False
        try:
            with transaction.atomic():
                message = Message.objects.create(
                    conversation_id=conversation_id, sender=sender, body=body, client_id=client_id or None
                )
        except IntegrityError:  # the same client_id committed concurrently
            existing = _message_by_client_id(sender=sender, conversation_id=conversation_id, client_id=client_id)
            if existing is None:
                raise
            return existing, False
        # Only ever forward: a concurrent send that committed a higher id keeps its place.
        Conversation.objects.filter(Q(last_message__isnull=True) | Q(last_message_id__lt=message.id)).filter(
            pk=conversation_id
        ).update(last_message=message, last_activity_at=message.created_at)
        # The sender has read up to their own message; this also keeps the rows an unread
        # count scans (those above the pointer) down to what others sent since.
        Membership.objects.filter(
            conversation_id=conversation_id, user_id=sender.id, last_read_message_id__lt=message.id
        ).update(last_read_message_id=message.id)
        recipients = member_ids(conversation_id)
        events.events_emit(
            user_ids=recipients, type=events.MESSAGE_CREATED, payload={"message": events.message_as_dict(message)}
        )
        notify.message_received(message=message, recipient_ids=recipients)
        _invalidate_unread(recipients)
    return message, True


def _message_by_client_id(*, sender: User, conversation_id: int, client_id: str) -> Message | None:
    existing = Message.objects.filter(sender=sender, client_id=client_id).first()
    if existing is not None and existing.conversation_id != conversation_id:
        raise ValidationFailed(fields={"client_id": ["This client_id was used for another conversation."]})
    return existing


def _own_message_for_update(*, user: User, conversation_id: int, message_id: int) -> Message:
    membership_get(user=user, conversation_id=conversation_id)
    message = (
        Message.objects.select_for_update()
        .filter(pk=message_id, conversation_id=conversation_id, sender=user, deleted_at__isnull=True)
        .first()
    )
    if message is None:
        raise MessageNotFound()
    return message


@transaction.atomic
def message_edit(*, user: User, conversation_id: int, message_id: int, body: str) -> Message:
    """Replace the body of the caller's own message and emit `message.updated`.
    Raises MessageNotFound for someone else's or a deleted message (404, never 403)."""
    body = _check_body(body)
    message = _own_message_for_update(user=user, conversation_id=conversation_id, message_id=message_id)
    message.body = body
    message.edited_at = timezone.now()
    message.save(update_fields=["body", "edited_at"])
    events.events_emit(
        user_ids=member_ids(conversation_id),
        type=events.MESSAGE_UPDATED,
        payload={"message": events.message_as_dict(message)},
    )
    return message


@transaction.atomic
def message_delete(*, user: User, conversation_id: int, message_id: int) -> Message:
    """Soft-delete the caller's own message (body emptied). Raises MessageNotFound otherwise."""
    message = _own_message_for_update(user=user, conversation_id=conversation_id, message_id=message_id)
    return _soft_delete(message)


@transaction.atomic
def message_moderate_delete(*, message_id: int) -> Message | None:
    """Staff removal: soft-delete any message (clients get `message.deleted`); None if already gone."""
    message = Message.objects.select_for_update().filter(pk=message_id, deleted_at__isnull=True).first()
    if message is None:
        return None
    return _soft_delete(message)


def _soft_delete(message: Message) -> Message:
    message.body = ""
    message.deleted_at = timezone.now()
    message.save(update_fields=["body", "deleted_at"])
    recipients = member_ids(message.conversation_id)
    events.events_emit(
        user_ids=recipients, type=events.MESSAGE_DELETED, payload={"message": events.message_as_dict(message)}
    )
    _invalidate_unread([uid for uid in recipients if uid != message.sender_id])
    return message


@transaction.atomic
def conversation_mark_read(*, user: User, conversation_id: int, message_id: int) -> bool:
    """Move the caller's read pointer forward to `message_id`; never back. Returns whether
    it moved (and `conversation.read` was emitted to the members).

    Raises ConversationNotFound for a non-member, ValidationFailed for a message id that
    is not in the conversation.
    """
    membership = membership_get(user=user, conversation_id=conversation_id)
    if not Message.objects.filter(conversation_id=conversation_id, pk=message_id).exists():
        raise ValidationFailed(fields={"message_id": ["No such message in this conversation."]})
    moved = Membership.objects.filter(pk=membership.pk, last_read_message_id__lt=message_id).update(
        last_read_message_id=message_id
    )
    if not moved:
        return False
    events.events_emit(
        user_ids=member_ids(conversation_id),
        type=events.CONVERSATION_READ,
        payload={"conversation": conversation_id, "user": user.id, "message_id": message_id},
    )
    _invalidate_unread([user.id])
    return True


def typing_notify(*, user: User, conversation_id: int) -> bool:
    """Tell the other members the user is typing, at most once per
    `MESSAGING_TYPING_THROTTLE_SECONDS` per conversation; returns whether it was sent.
    Typing is ephemeral: not stored, no event number. Raises ConversationNotFound for a non-member.
    """
    key = f"messaging:typing:{user.id}:{conversation_id}"
    if not cache.add(key, 1, timeout=settings.MESSAGING_TYPING_THROTTLE_SECONDS):
        return False
    membership_get(user=user, conversation_id=conversation_id)
    others = [uid for uid in member_ids(conversation_id) if uid != user.id]
    events.typing_publish(conversation_id=conversation_id, user_id=user.id, recipient_ids=others)
    return True
