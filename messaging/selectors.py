"""Messaging reads, shaped for their callers; none of them walks a whole conversation."""

from django.conf import settings
from django.db.models import Count, F, IntegerField, OuterRef, Prefetch, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from messaging.models import Event, EventSequence, Membership, Message
from messaging.services import ConversationNotFound, membership_get, unread_tag
from wemaster.accounts.models import User
from wemaster.core.cache import get_or_compute
from wemaster.core.db_router import reading_primary
from wemaster.core.errors import ValidationFailed


def _unread_subquery():
    """Messages above the membership's read pointer, not sent by its user, not deleted:
    an index range scan on Message (conversation, id) starting at the pointer."""
    unread = (
        Message.objects.filter(
            conversation_id=OuterRef("conversation_id"),
            id__gt=OuterRef("last_read_message_id"),
            deleted_at__isnull=True,
        )
        .exclude(sender_id=OuterRef("user_id"))
        .order_by()
        .values("conversation_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(unread, output_field=IntegerField()), Value(0))


def _participants_prefetch() -> Prefetch:
    return Prefetch(
        "conversation__memberships",
        queryset=Membership.objects.filter(left_at__isnull=True)
        .select_related("user")
        .only("id", "conversation_id", "user__id", "user__display_name")
        .order_by("id"),
        to_attr="current_memberships",
    )


def conversation_list(*, user: User) -> QuerySet[Membership]:
    """The user's current memberships, newest activity first, each with its conversation,
    last message, participants and `unread_count`: three queries per page at any size."""
    return (
        Membership.objects.filter(user_id=user.id, left_at__isnull=True)
        .select_related("conversation", "conversation__last_message")
        .prefetch_related(_participants_prefetch())
        .annotate(activity_at=F("conversation__last_activity_at"), unread_count=_unread_subquery())
    )


def conversation_for_member(*, user: User, conversation_id: int) -> Membership:
    """One row of `conversation_list`. Raises ConversationNotFound for a non-member."""
    membership = conversation_list(user=user).filter(conversation_id=conversation_id).first()
    if membership is None:
        raise ConversationNotFound()
    return membership


def message_history(
    *, user: User, conversation_id: int, before: int | None = None, after: int | None = None, limit: int | None = None
) -> tuple[list[Message], bool]:
    """One page of history and whether more exists beyond it.

    `before`: the newest messages below that id, newest first (the default from the end);
    `after`: the oldest messages above that id, oldest first. Reads `limit + 1` rows off the
    (conversation, id) index, so a page costs the same at any depth. Raises
    ConversationNotFound for a non-member, ValidationFailed for both cursors at once.
    """
    if before is not None and after is not None:
        raise ValidationFailed(fields={"before": ["Use either before or after, not both."]})
    limit = limit or settings.MESSAGING_HISTORY_DEFAULT_LIMIT
    membership_get(user=user, conversation_id=conversation_id)
    qs = Message.objects.filter(conversation_id=conversation_id)
    if after is not None:
        qs = qs.filter(id__gt=after).order_by("id")
    else:
        if before is not None:
            qs = qs.filter(id__lt=before)
        qs = qs.order_by("-id")
    rows = list(qs[: limit + 1])
    return rows[:limit], len(rows) > limit


def _unread_counts(user_id: int) -> dict:
    # One query: a correlated count per membership, each an index range scan on
    # Message (conversation, id) above that membership's read pointer. Sending moves the
    # sender's pointer, so the rows scanned are the unread ones plus a few of one's own.
    rows = (
        Membership.objects.filter(user_id=user_id, left_at__isnull=True)
        .annotate(n=_unread_subquery())
        .values_list("conversation_id", "n")
    )
    conversations = {str(conversation_id): n for conversation_id, n in rows if n}
    return {"total": sum(conversations.values()), "conversations": conversations}


def unread_counts_for_user(*, user: User) -> dict:
    """`{"total", "conversations": {"<id>": n}}` (conversations with unread messages only).
    One aggregate query over messages above the read pointers, cached per user until a
    send, read, delete or leave touching the user commits."""
    return get_or_compute(
        f"messaging:unread:{user.id}",
        lambda: _unread_counts(user.id),
        tags=[unread_tag(user.id)],
        ttl=settings.MESSAGING_UNREAD_CACHE_TTL,
        family="messaging_unread",
    )


def event_watermark(*, user_id: int) -> int:
    """The number of the user's latest event (0 before the first). Read from the primary: a
    lagging replica's lower number would make the socket replay events it then gets live."""
    with reading_primary():
        return EventSequence.objects.filter(user_id=user_id).values_list("last_seq", flat=True).first() or 0


def events_after(*, user_id: int, since: int, limit: int | None = None) -> list[Event]:
    """The user's stored events numbered above `since`, oldest first, at most `limit`. Read
    from the primary: a gap filled from a lagging replica would skip the events it lacks."""
    limit = limit or settings.MESSAGING_REPLAY_BATCH
    with reading_primary():
        return list(Event.objects.filter(user_id=user_id, seq__gt=since).order_by("seq")[:limit])
