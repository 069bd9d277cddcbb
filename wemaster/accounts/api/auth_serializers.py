"""Shapes of the sign-in, token, password and deactivation endpoints (README, Accounts and sessions)."""

from wemaster.accounts.models import DEVICE_NAME_MAX_LENGTH, DeviceToken, Role
from wemaster.core import serializers
from wemaster.core.authentication import TokenInUse

PASSWORD_MAX_LENGTH = 128


def password_field(**kwargs) -> serializers.CharField:
    return serializers.CharField(write_only=True, max_length=PASSWORD_MAX_LENGTH, trim_whitespace=False, **kwargs)


def device_field() -> serializers.CharField:
    return serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=DEVICE_NAME_MAX_LENGTH,
        help_text="What this device is called in the token list (default: the User-Agent).",
    )


class RegisterInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = password_field()
    role = serializers.ChoiceField(choices=Role.choices)
    display_name = serializers.CharField(max_length=80)
    device = device_field()


class RegisterOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    role = serializers.CharField()
    display_name = serializers.CharField()
    token = serializers.CharField(help_text="The new device's API token; shown only here.")


class TokenInputSerializer(serializers.Serializer):
    email = serializers.CharField(max_length=254)
    password = password_field()
    device = device_field()


class TokenOutputSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="The device's API token (`Authorization: Token <token>`); shown only here.")


class DeviceTokenSerializer(serializers.ModelSerializer):
    current = serializers.SerializerMethodField(help_text="Whether this is the token of the request.")

    class Meta:
        model = DeviceToken
        fields = ["id", "name", "created", "last_used", "expiry", "current"]
        read_only_fields = fields
        extra_kwargs = {
            "last_used": {"help_text": "Last use, to within the refresh interval (15 minutes by default)."},
            "expiry": {"help_text": "Moves forward with use; the token stops working after it."},
        }

    def get_current(self, token) -> bool:
        auth = self.context["request"].auth
        return isinstance(auth, TokenInUse) and auth.id == token.pk


class PasswordChangeSerializer(serializers.Serializer):
    current_password = password_field()
    new_password = password_field()


class PasswordResetSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class PasswordResetConfirmSerializer(serializers.Serializer):
    uid = serializers.CharField(max_length=64)
    token = serializers.CharField(max_length=128)
    new_password = password_field()


class DeactivateSerializer(serializers.Serializer):
    current_password = password_field()
