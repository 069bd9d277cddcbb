from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from wemaster.core.pagination import KeysetPagination
from wemaster.core.schema import ErrorSerializer
from wemaster.notifications import selectors, services
from wemaster.notifications.api.serializers import (
    EmailSettingsSerializer,
    NotificationListQuerySerializer,
    NotificationReadSerializer,
    NotificationSerializer,
    UnreadCountSerializer,
    UnsubscribedSerializer,
    UnsubscribeQuerySerializer,
)


class NotificationPagination(KeysetPagination):
    """Newest first by id."""

    ordering = ("-pk",)


class NotificationListView(generics.ListAPIView):
    serializer_class = NotificationSerializer
    pagination_class = NotificationPagination

    def get_queryset(self):
        query = NotificationListQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.notification_list(user=self.request.user, unread_only=query.validated_data["unread"])

    @extend_schema(
        summary="The caller's notifications, newest first",
        parameters=[NotificationListQuerySerializer],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        return Response(
            self.paginator.respond(request, queryset=self.get_queryset(), serializer_class=NotificationSerializer)
        )


class UnreadCountView(APIView):
    @extend_schema(summary="How many notifications are unread", responses={200: UnreadCountSerializer})
    def get(self, request):
        return Response({"unread": selectors.unread_count(user=request.user)})


class ReadView(APIView):
    @extend_schema(
        summary="Mark one notification, or all up to an id, read",
        request=NotificationReadSerializer,
        responses={200: UnreadCountSerializer, 404: ErrorSerializer},
    )
    def post(self, request):
        data = NotificationReadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.notifications_mark_read(
            user=request.user,
            notification_id=data.validated_data.get("id"),
            up_to=data.validated_data.get("up_to"),
        )
        return Response({"unread": selectors.unread_count(user=request.user)})


class EmailSettingsView(APIView):
    @extend_schema(summary="Email on or off per notification kind", responses={200: EmailSettingsSerializer})
    def get(self, request):
        return Response(selectors.email_settings(user=request.user))

    @extend_schema(
        summary="Turn email on or off for some kinds",
        request=EmailSettingsSerializer,
        responses={200: EmailSettingsSerializer},
    )
    def patch(self, request):
        data = EmailSettingsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.email_settings_update(user_id=request.user.id, email=data.validated_data)
        return Response(selectors.email_settings(user=request.user))


class UnsubscribeView(APIView):
    """The digest mail's link: no sign-in, the signed token names the user."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        summary="Turn notification email off from a digest's link",
        parameters=[UnsubscribeQuerySerializer],
        responses={200: UnsubscribedSerializer, 400: ErrorSerializer},
    )
    def get(self, request):
        query = UnsubscribeQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        _, kind = services.unsubscribe(token=query.validated_data["token"])
        return Response({"kind": kind, "email": False})
