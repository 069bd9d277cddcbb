"""Conversations, memberships with read pointers, messages, and the per-user event log.

Hot paths and the index each one uses:
- history page: `Message (conversation, id)`; a page costs the same at any depth;
- unread counts: `Membership (user, conversation)` joined to `Message (conversation, id)`
  for ids above the read pointer only, never the whole history;
- conversation list: `Conversation.last_message`/`last_activity_at`, denormalized in the
  send transaction;
- replay after reconnect: `Event (user, seq)`.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class ConversationKind(models.TextChoices):
    DIRECT = "direct", "Direct (1:1)"
    GROUP = "group", "Group"


class Conversation(models.Model):
    kind = models.CharField(max_length=8, choices=ConversationKind.choices)
    title = models.CharField(max_length=120, blank=True)
    # "<low user id>:<high user id>" for 1:1 conversations; its unique constraint makes the
    # pair unique even when both users create it at the same moment.
    pair_key = models.CharField(max_length=41, null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_message = models.ForeignKey(
        "Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    last_activity_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["pair_key"], condition=Q(pair_key__isnull=False), name="messaging_direct_pair_unique"
            ),
            models.CheckConstraint(
                condition=Q(kind=ConversationKind.GROUP, pair_key__isnull=True)
                | Q(kind=ConversationKind.DIRECT, pair_key__isnull=False),
                name="messaging_direct_has_pair_key",
            ),
        ]

    def __str__(self):
        return self.title or f"{self.get_kind_display()} #{self.pk}"


class Membership(models.Model):
    """A user in a conversation. `last_read_message_id` only moves forward (conditional UPDATE)."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_memberships", db_index=False
    )
    last_read_message_id = models.BigIntegerField(default=0)
    joined_at = models.DateTimeField(default=timezone.now)
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "conversation"], name="messaging_membership_unique"),
        ]

    def __str__(self):
        return f"{self.user.display_name} in {self.conversation}"


class Message(models.Model):
    """Bodies are plain text: stored as sent, never interpreted as HTML."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages", db_index=False)
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_messages")
    body = models.TextField()
    client_id = models.CharField(max_length=64, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["conversation", "id"], name="messaging_message_conv_id")]
        constraints = [
            models.UniqueConstraint(
                fields=["sender", "client_id"],
                condition=Q(client_id__isnull=False),
                name="messaging_message_client_id_unique",
            ),
        ]

    def __str__(self):
        return f"Message #{self.pk} by {self.sender.display_name}"

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None


class EventSequence(models.Model):
    """The last event number handed to a user. Its row is locked while a transaction emits
    events to the user, so a user's events commit in number order: a client resuming
    `since=N` can never miss an event numbered below N that committed later."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+")
    last_seq = models.BigIntegerField(default=0)

    def __str__(self):
        return f"{self.user_id}: {self.last_seq}"


class Event(models.Model):
    """A real-time event as delivered to one user; `seq` is its `event_id` for that user.
    Kept for replay after reconnect, pruned after `MESSAGING_EVENT_RETENTION_HOURS`."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    seq = models.BigIntegerField()
    type = models.CharField(max_length=32)
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "seq"], name="messaging_event_user_seq_unique")]

    def __str__(self):
        return f"{self.type} #{self.seq} for {self.user_id}"
