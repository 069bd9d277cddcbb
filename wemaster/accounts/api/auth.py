"""Sign-in and the account's lifecycle: register, device tokens, logout, password change and
reset, deactivation (README, Accounts and sessions)."""

from django.contrib.auth import logout as session_logout
from django.contrib.auth import update_session_auth_hash
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from wemaster.accounts import services, sessions
from wemaster.accounts.api.auth_serializers import (
    DeactivateSerializer,
    DeviceTokenSerializer,
    PasswordChangeSerializer,
    PasswordResetConfirmSerializer,
    PasswordResetSerializer,
    RegisterInputSerializer,
    RegisterOutputSerializer,
    TokenInputSerializer,
    TokenOutputSerializer,
)
from wemaster.core.authentication import TokenInUse
from wemaster.core.db_router import scope_user
from wemaster.core.schema import ErrorSerializer
from wemaster.core.serializers import reject_body
from wemaster.core.throttles import AccountRateThrottle, ScopedRateThrottle, ScopedWriteThrottleMixin

NO_CONTENT = {204: OpenApiResponse(description="Done; no body.")}


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _device_name(request, data: dict) -> str:
    return sessions.device_name(device=data.pop("device", None), user_agent=request.headers.get("User-Agent", ""))


def _current_token_id(request) -> int | None:
    """The id of the token the request authenticated with; None under session authentication."""
    return request.auth.id if isinstance(request.auth, TokenInUse) else None


class RegisterView(APIView):
    """Create an account and a token for the registering device."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "register"

    @extend_schema(
        request=RegisterInputSerializer,
        responses={201: RegisterOutputSerializer},
        description="Create an account and a token for the registering device (shown only in this answer).",
    )
    def post(self, request):
        data = _valid(RegisterInputSerializer, request)
        name = _device_name(request, data)
        user, token = services.user_register(**data, device_name=name)
        scope_user(user.id)  # the new account's next reads must see it, on any worker
        body = {"id": user.id, "email": user.email, "role": user.role, "display_name": user.display_name}
        return Response(RegisterOutputSerializer({**body, "token": token}).data, status=status.HTTP_201_CREATED)


class TokenView(APIView):
    """Log in: a new token for this device. Limited per IP address and per account."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle, AccountRateThrottle]
    throttle_scope = "login"
    account_throttle_scope = "login_account"

    @extend_schema(
        request=TokenInputSerializer,
        responses={200: TokenOutputSerializer},
        description="Log in: a new token for this device. Limited per client address and per account.",
    )
    def post(self, request):
        data = _valid(TokenInputSerializer, request)
        name = _device_name(request, data)
        token = services.token_obtain(**data, device_name=name)
        return Response(TokenOutputSerializer({"token": token}).data)


class LogoutView(APIView):
    """Revoke the token of this request at once (its open websockets close too); under session
    authentication, end the session."""

    @extend_schema(
        request=None,
        responses=NO_CONTENT,
        description="Revoke the token of this request at once; its open websockets close too.",
    )
    def post(self, request):
        reject_body(request)
        token_id = _current_token_id(request)
        if token_id is not None:
            sessions.token_revoke(user=request.user, token_id=token_id)
        else:
            session_logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    get=extend_schema(
        description="The caller's live tokens, one per device, newest first. The token itself is never shown again."
    )
)
class TokenListView(generics.ListAPIView):
    serializer_class = DeviceTokenSerializer

    def get_queryset(self):
        return sessions.tokens_of(user_id=self.request.user.id)


class TokenDetailView(APIView):
    """Revoke one of the caller's tokens (e.g. a lost phone's); its open websockets close."""

    @extend_schema(
        responses=NO_CONTENT,
        description="Revoke one of the caller's tokens (a lost phone's): it stops working at once and its "
        "open websockets close. Another user's token is 404.",
    )
    def delete(self, request, pk: int):
        reject_body(request)
        sessions.token_revoke(user=request.user, token_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeView(ScopedWriteThrottleMixin, APIView):
    """Change the password (the current one is required). Every other token is revoked; the one
    of this request keeps working."""

    throttle_scope = "password"

    @extend_schema(
        request=PasswordChangeSerializer,
        responses=NO_CONTENT,
        description="Change the password; the current one is required. Every other token of the account is "
        "revoked, the one of this request keeps working.",
    )
    def post(self, request):
        data = _valid(PasswordChangeSerializer, request)
        user = services.password_change(user=request.user, current_token_id=_current_token_id(request), **data)
        if request.auth is None:  # the browsable API's session survives its own password change
            update_session_auth_hash(request._request, user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordResetView(APIView):
    """Mail a password reset link to the account with this email. Answers 204 whether or not
    there is one, so it reveals no account."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle, AccountRateThrottle]
    throttle_scope = "password_reset"
    account_throttle_scope = "password_reset_account"

    @extend_schema(
        request=PasswordResetSerializer,
        responses=NO_CONTENT,
        description="Mail a password reset link (`uid` and `token`) to the account with this email. "
        "Answers 204 whether or not there is one.",
    )
    def post(self, request):
        services.password_reset_request(**_valid(PasswordResetSerializer, request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordResetConfirmView(APIView):
    """Set a new password with the `uid` and `token` of a reset mail. Every token of the account
    is revoked (every device signs in again). A bad, expired or used link is 400
    `invalid_reset_token`."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "password_reset"

    @extend_schema(
        request=PasswordResetConfirmSerializer,
        responses={**NO_CONTENT, 400: ErrorSerializer},
        description="Set a new password with the `uid` and `token` of a reset mail; every token of the account "
        "is revoked. A wrong, expired or used link is 400 `invalid_reset_token`.",
    )
    def post(self, request):
        services.password_reset_confirm(**_valid(PasswordResetConfirmSerializer, request))
        return Response(status=status.HTTP_204_NO_CONTENT)


def deactivate(request) -> Response:
    """`DELETE /me` (MeView): close the caller's account; the current password is required."""
    services.user_deactivate(user=request.user, **_valid(DeactivateSerializer, request))
    if request.auth is None:
        session_logout(request._request)
    return Response(status=status.HTTP_204_NO_CONTENT)


DEACTIVATE_SCHEMA = extend_schema(
    request=DeactivateSerializer,
    responses=NO_CONTENT,
    description="Close the account (the current password is required): it can no longer log in, every token "
    "is revoked and every websocket closed. Lessons, payments and ledger records are kept, and the email "
    "stays taken.",
)
