"""Shapes of the messaging API. Message bodies come from `events.message_as_dict`, the
one representation REST and websocket frames share; these classes describe and check them."""

from django.conf import settings
from drf_spectacular.utils import extend_schema_field

from messaging.events import message_as_dict
from wemaster.core import serializers


class MessageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    conversation = serializers.IntegerField()
    sender = serializers.IntegerField()
    body = serializers.CharField(help_text="Plain text, never interpreted as HTML; empty once deleted.")
    client_id = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(allow_null=True)
    deleted = serializers.BooleanField()


class MessageInputSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=settings.MESSAGING_MAX_BODY_CHARS, trim_whitespace=False)
    client_id = serializers.CharField(max_length=64, required=False, allow_null=True)


class MessageEditSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=settings.MESSAGING_MAX_BODY_CHARS, trim_whitespace=False)


class HistoryQuerySerializer(serializers.Serializer):
    """The history cursors; the page size (`page_size`, or its older name `limit`) is read by
    `wemaster.core.pagination.page_size_from` like on every list."""

    before = serializers.IntegerField(required=False, min_value=1)
    after = serializers.IntegerField(required=False, min_value=0)

    def validate(self, attrs):
        if "before" in attrs and "after" in attrs:
            raise serializers.ValidationError({"before": ["Use either before or after, not both."]})
        return attrs


class HistorySerializer(serializers.Serializer):
    """The list envelope; `next`/`previous` carry `before`/`after` cursors instead of `cursor`."""

    results = MessageSerializer(many=True)
    next = serializers.URLField(
        allow_null=True, help_text="The page after this one in its direction (null at the end of history)."
    )
    previous = serializers.URLField(allow_null=True, help_text="The page back the other way (null on a first page).")


class ParticipantSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="user.id")
    display_name = serializers.CharField(source="user.display_name")


class ConversationSerializer(serializers.Serializer):
    """Built from a `selectors.conversation_list` row (the caller's membership)."""

    id = serializers.IntegerField(source="conversation.id")
    kind = serializers.CharField(source="conversation.kind")
    title = serializers.CharField(source="conversation.title")
    participants = ParticipantSerializer(many=True, source="conversation.current_memberships")
    last_message = serializers.SerializerMethodField()
    unread_count = serializers.IntegerField()
    last_read_message_id = serializers.IntegerField()
    last_activity_at = serializers.DateTimeField(source="conversation.last_activity_at")
    created_at = serializers.DateTimeField(source="conversation.created_at")

    @extend_schema_field(MessageSerializer(allow_null=True))
    def get_last_message(self, membership):
        message = membership.conversation.last_message
        return message_as_dict(message) if message is not None else None


class ConversationCreateSerializer(serializers.Serializer):
    participant_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), min_length=1, max_length=settings.MESSAGING_MAX_GROUP_MEMBERS
    )
    title = serializers.CharField(max_length=120, required=False, allow_blank=True)


class ReadSerializer(serializers.Serializer):
    message_id = serializers.IntegerField(min_value=1)


class UnreadSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    conversations = serializers.DictField(child=serializers.IntegerField(), help_text='{"<conversation id>": count}')


class FrameSerializer(serializers.Serializer):
    """A websocket frame: strict like a REST body, so `type` (which the consumer dispatched on) is
    one of its fields and anything else is refused."""

    type = serializers.CharField()
    conversation = serializers.IntegerField(min_value=1)


class SendFrameSerializer(FrameSerializer, MessageInputSerializer):
    """Websocket `{"type": "message.send", "conversation", "body", "client_id"?}`."""


class TypingFrameSerializer(FrameSerializer):
    """Websocket `{"type": "typing", "conversation"}`."""


class ReadFrameSerializer(FrameSerializer, ReadSerializer):
    """Websocket `{"type": "read", "conversation", "message_id"}`."""
