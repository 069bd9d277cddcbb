"""Sign-in and the account's lifecycle: register, device tokens, logout, password change and
reset, deactivation (README, Accounts and sessions)."""

from django.contrib.auth import logout as session_logout
from django.contrib.auth import update_session_auth_hash
from drf_spectacular.utils import OpenApiResponse, extend_schema
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


@extend_schema(tags=["accounts"])
class RegisterView(APIView):
    """Create an account and a token for the registering device."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "register"

    @extend_schema(request=RegisterInputSerializer, responses={201: RegisterOutputSerializer})
    def post(self, request):
        data = _valid(RegisterInputSerializer, request)
        name = _device_name(request, data)
        user, token = services.user_register(**data, device_name=name)
        scope_user(user.id)  # the new account's next reads must see it, on any worker
        body = {"id": user.id, "email": user.email, "role": user.role, "display_name": user.display_name}
        return Response(RegisterOutputSerializer({**body, "token": token}).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["accounts"])
class TokenView(APIView):
    """Log in: a new token for this device. Limited per IP address and per account."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle, AccountRateThrottle]
    throttle_scope = "login"
    account_throttle_scope = "login_account"

    @extend_schema(request=TokenInputSerializer, responses={200: TokenOutputSerializer})
    def post(self, request):
        data = _valid(TokenInputSerializer, request)
        name = _device_name(request, data)
        token = services.token_obtain(**data, device_name=name)
        return Response(TokenOutputSerializer({"token": token}).data)


@extend_schema(tags=["accounts"])
class LogoutView(APIView):
    """Revoke the token of this request at once (its open websockets close too); under session
    authentication, end the session."""

    @extend_schema(request=None, responses=NO_CONTENT)
    def post(self, request):
        token_id = _current_token_id(request)
        if token_id is not None:
            sessions.token_revoke(user=request.user, token_id=token_id)
        else:
            session_logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["accounts"])
class TokenListView(generics.ListAPIView):
    """The caller's live tokens, one per device, newest first (never the token itself)."""

    serializer_class = DeviceTokenSerializer

    def get_queryset(self):
        return sessions.tokens_of(user_id=self.request.user.id)


@extend_schema(tags=["accounts"])
class TokenDetailView(APIView):
    """Revoke one of the caller's tokens (e.g. a lost phone's); its open websockets close."""

    @extend_schema(responses=NO_CONTENT)
    def delete(self, request, pk: int):
        sessions.token_revoke(user=request.user, token_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["accounts"])
class PasswordChangeView(ScopedWriteThrottleMixin, APIView):
    """Change the password (the current one is required). Every other token is revoked; the one
    of this request keeps working."""

    throttle_scope = "password"

    @extend_schema(request=PasswordChangeSerializer, responses=NO_CONTENT)
    def post(self, request):
        data = _valid(PasswordChangeSerializer, request)
        user = services.password_change(user=request.user, current_token_id=_current_token_id(request), **data)
        if request.auth is None:  # the browsable API's session survives its own password change
            update_session_auth_hash(request._request, user)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["accounts"])
class PasswordResetView(APIView):
    """Mail a password reset link to the account with this email. Answers 204 whether or not
    there is one, so it reveals no account."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle, AccountRateThrottle]
    throttle_scope = "password_reset"
    account_throttle_scope = "password_reset_account"

    @extend_schema(request=PasswordResetSerializer, responses=NO_CONTENT)
    def post(self, request):
        services.password_reset_request(**_valid(PasswordResetSerializer, request))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["accounts"])
class PasswordResetConfirmView(APIView):
    """Set a new password with the `uid` and `token` of a reset mail. Every token of the account
    is revoked (every device signs in again). A bad, expired or used link is 400
    `invalid_reset_token`."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "password_reset"

    @extend_schema(request=PasswordResetConfirmSerializer, responses={**NO_CONTENT, 400: ErrorSerializer})
    def post(self, request):
        services.password_reset_confirm(**_valid(PasswordResetConfirmSerializer, request))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["accounts"])
class DeactivateView(ScopedWriteThrottleMixin, APIView):
    """Close the account (the current password is required): it can no longer log in, every
    token is revoked and every websocket closed. Money records (wallet, ledger, lessons,
    earnings) are kept, and the email stays taken."""

    throttle_scope = "password"

    @extend_schema(request=DeactivateSerializer, responses=NO_CONTENT)
    def post(self, request):
        services.user_deactivate(user=request.user, **_valid(DeactivateSerializer, request))
        if request.auth is None:
            session_logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)
