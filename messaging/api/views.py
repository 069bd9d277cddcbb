from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from messaging import selectors, services
from messaging.api.serializers import (
    ConversationCreateSerializer,
    ConversationSerializer,
    HistoryQuerySerializer,
    HistorySerializer,
    MessageEditSerializer,
    MessageInputSerializer,
    MessageSerializer,
    ReadSerializer,
    UnreadSerializer,
)
from messaging.events import message_as_dict
from wemaster.core.pagination import PAGE_SIZE_DESCRIPTION, CursorPagination, envelope, page_size_from
from wemaster.core.serializers import reject_body
from wemaster.core.throttles import ScopedWriteThrottleMixin


class ConversationPagination(CursorPagination):
    """Newest activity first; `activity_at` is the conversation's denormalized last activity."""

    ordering = ("-activity_at", "-conversation_id")


class ConversationListView(generics.ListAPIView):
    serializer_class = ConversationSerializer
    pagination_class = ConversationPagination

    def get_queryset(self):
        return selectors.conversation_list(user=self.request.user)

    @extend_schema(summary="The caller's conversations, newest activity first")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Start a 1:1 (one participant, no title) or a group conversation",
        request=ConversationCreateSerializer,
        responses={201: ConversationSerializer, 200: OpenApiResponse(ConversationSerializer, "The existing 1:1")},
    )
    def post(self, request):
        data = ConversationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        conversation, created = services.conversation_create(creator=request.user, **data.validated_data)
        row = selectors.conversation_for_member(user=request.user, conversation_id=conversation.id)
        return Response(
            ConversationSerializer(row).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class ConversationDetailView(APIView):
    @extend_schema(responses={200: ConversationSerializer})
    def get(self, request, conversation_id: int):
        row = selectors.conversation_for_member(user=request.user, conversation_id=conversation_id)
        return Response(ConversationSerializer(row).data)


class ConversationLeaveView(APIView):
    @extend_schema(request=None, responses={204: None}, summary="Leave a group conversation")
    def post(self, request, conversation_id: int):
        reject_body(request)
        services.conversation_leave(user=request.user, conversation_id=conversation_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class UnreadView(APIView):
    @extend_schema(responses={200: UnreadSerializer}, summary="Unread message counts, total and per conversation")
    def get(self, request):
        return Response(UnreadSerializer(selectors.unread_counts_for_user(user=request.user)).data)


def _history_link(request, cursor: str, message_id: int) -> str:
    """This page's URL moved to `cursor`=`message_id` (`before` or `after`), the other one dropped."""
    other = "after" if cursor == "before" else "before"
    url = remove_query_param(request.build_absolute_uri(), other)
    return replace_query_param(url, cursor, message_id)


def history_envelope(request, messages: list, *, has_more: bool, after: int | None, before: int | None) -> dict:
    """The list envelope of a history page. `next` goes on in the page's direction (older for
    `before` and for the first page, newer for `after`); `previous` goes back the other way, and
    is null on a first page (no cursor) or an empty one."""
    forward, backward = ("after", "before") if after is not None else ("before", "after")
    started_at = after if after is not None else before
    next_url = _history_link(request, forward, messages[-1].id) if has_more and messages else None
    previous_url = _history_link(request, backward, messages[0].id) if started_at and messages else None
    return envelope([message_as_dict(m) for m in messages], next_url=next_url, previous_url=previous_url)


HISTORY_PAGE_SIZE = PAGE_SIZE_DESCRIPTION.format(max=settings.MAX_PAGE_SIZE)


class MessageListView(ScopedWriteThrottleMixin, APIView):
    """History by message-id cursor, and sending (throttled by the `message_send` scope)."""

    throttle_scope = "message_send"

    @extend_schema(
        parameters=[
            OpenApiParameter("before", int, description="Messages older than this id, newest first"),
            OpenApiParameter("after", int, description="Messages newer than this id, oldest first"),
            OpenApiParameter("page_size", int, description=HISTORY_PAGE_SIZE),
            OpenApiParameter("limit", int, description=f"The older name of `page_size`. {HISTORY_PAGE_SIZE}"),
        ],
        responses={200: HistorySerializer},
    )
    def get(self, request, conversation_id: int):
        query = HistoryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        size_param = "page_size" if "page_size" in request.query_params else "limit"
        limit = page_size_from(request, size_param, default=settings.MESSAGING_HISTORY_DEFAULT_LIMIT)
        messages, has_more = selectors.message_history(
            user=request.user, conversation_id=conversation_id, limit=limit, **query.validated_data
        )
        cursors = {"after": query.validated_data.get("after"), "before": query.validated_data.get("before")}
        return Response(history_envelope(request, messages, has_more=has_more, **cursors))

    @extend_schema(
        request=MessageInputSerializer,
        responses={201: MessageSerializer, 200: OpenApiResponse(MessageSerializer, "Retried client_id")},
    )
    def post(self, request, conversation_id: int):
        data = MessageInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message, created = services.message_send(
            sender=request.user, conversation_id=conversation_id, **data.validated_data
        )
        return Response(message_as_dict(message), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class MessageDetailView(APIView):
    @extend_schema(request=MessageEditSerializer, responses={200: MessageSerializer}, summary="Edit (author only)")
    def patch(self, request, conversation_id: int, message_id: int):
        data = MessageEditSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = services.message_edit(
            user=request.user, conversation_id=conversation_id, message_id=message_id, **data.validated_data
        )
        return Response(message_as_dict(message))

    @extend_schema(responses={204: None}, summary="Soft delete (author only)")
    def delete(self, request, conversation_id: int, message_id: int):
        reject_body(request)
        services.message_delete(user=request.user, conversation_id=conversation_id, message_id=message_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReadView(APIView):
    @extend_schema(request=ReadSerializer, responses={204: None}, summary="Move the read pointer forward")
    def post(self, request, conversation_id: int):
        data = ReadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.conversation_mark_read(user=request.user, conversation_id=conversation_id, **data.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)
