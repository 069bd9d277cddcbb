from wemaster.core import serializers
from wemaster.core.pagination import BIGINT_MAX
from wemaster.notifications.models import NotificationKind
from wemaster.notifications.representation import notification_as_dict


class NotificationSerializer(serializers.Serializer):
    """The notification object (the same in `notification.created` websocket frames)."""

    id = serializers.IntegerField(read_only=True)
    kind = serializers.ChoiceField(choices=NotificationKind.choices, read_only=True)
    text = serializers.CharField(read_only=True, help_text="One sentence for people, in English.")
    data = serializers.DictField(read_only=True, help_text="The cause's ids and values; keys depend on `kind`.")
    created_at = serializers.DateTimeField(read_only=True)
    read_at = serializers.DateTimeField(read_only=True, allow_null=True)

    def to_representation(self, instance):
        return notification_as_dict(instance)


class NotificationListQuerySerializer(serializers.Serializer):
    unread = serializers.BooleanField(required=False, default=False, help_text="Only unread notifications")


class NotificationReadSerializer(serializers.Serializer):
    id = serializers.IntegerField(min_value=1, max_value=BIGINT_MAX, required=False, help_text="Mark this one read")
    up_to = serializers.IntegerField(
        min_value=1, max_value=BIGINT_MAX, required=False, help_text="Mark every one up to and including this id read"
    )

    def validate(self, attrs):
        if ("id" in attrs) == ("up_to" in attrs):
            raise serializers.ValidationError({"id": ["Give exactly one of `id` and `up_to`."]})
        return attrs


class UnreadCountSerializer(serializers.Serializer):
    unread = serializers.IntegerField()


class EmailSettingsSerializer(serializers.Serializer):
    """Email on (true) or off (false) per notification kind; a PATCH names only what it changes."""

    def get_fields(self):
        return {kind: serializers.BooleanField(required=False) for kind in NotificationKind.values}


class UnsubscribeQuerySerializer(serializers.Serializer):
    token = serializers.CharField(max_length=500)


class UnsubscribedSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text='The kind whose email is now off, or "all"')
    email = serializers.BooleanField()
