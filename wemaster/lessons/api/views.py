from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import IsAdminUser, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from wemaster.core.idempotency import idempotent
from wemaster.lessons import selectors, services
from wemaster.lessons.api.serializers import (
    LessonBookSerializer,
    LessonListQuerySerializer,
    LessonSerializer,
    RefundRequestCreateSerializer,
    RefundRequestListQuerySerializer,
    RefundRequestSerializer,
)
from wemaster.lessons.models import LessonStatus, RefundStatus

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, description="Replays the first response (API.md)."
)


class LessonListCreateView(generics.ListAPIView):
    """The caller's lessons (as student or tutor), newest first; POST books one."""

    permission_classes = [IsAuthenticated]
    serializer_class = LessonSerializer

    def get_queryset(self):
        query = LessonListQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.lesson_list(user=self.request.user, status=query.validated_data.get("status"))

    @extend_schema(parameters=[OpenApiParameter("status", str, enum=LessonStatus.values)])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=LessonBookSerializer, responses={201: LessonSerializer}, parameters=[IDEMPOTENCY_HEADER])
    @idempotent
    def post(self, request):
        data = LessonBookSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        lesson = services.lesson_book(
            student=request.user,
            tutor_id=values["tutor"],
            subject=values["subject"],
            starts_at=values["starts_at"],
            duration_minutes=values["duration_minutes"],
        )
        lesson = selectors.lesson_get(user=request.user, lesson_id=lesson.pk)
        return Response(LessonSerializer(lesson).data, status=status.HTTP_201_CREATED)


class LessonDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: LessonSerializer})
    def get(self, request, pk: int):
        return Response(LessonSerializer(selectors.lesson_get(user=request.user, lesson_id=pk)).data)


class LessonCompleteView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={200: LessonSerializer}, parameters=[IDEMPOTENCY_HEADER])
    @idempotent
    def post(self, request, pk: int):
        services.lesson_complete(lesson_id=pk, actor=request.user)
        return Response(LessonSerializer(selectors.lesson_get(user=request.user, lesson_id=pk)).data)


class LessonCancelView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={200: LessonSerializer}, parameters=[IDEMPOTENCY_HEADER])
    @idempotent
    def post(self, request, pk: int):
        services.lesson_cancel(lesson_id=pk, actor=request.user)
        return Response(LessonSerializer(selectors.lesson_get(user=request.user, lesson_id=pk)).data)


class RefundRequestListCreateView(generics.ListAPIView):
    """A student's refund requests (staff: everyone's); POST asks for a completed lesson's charge back."""

    permission_classes = [IsAuthenticated]
    serializer_class = RefundRequestSerializer

    def get_queryset(self):
        query = RefundRequestListQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.refund_request_list(user=self.request.user, status=query.validated_data.get("status"))

    @extend_schema(parameters=[OpenApiParameter("status", str, enum=RefundStatus.values)])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=RefundRequestCreateSerializer, responses={201: RefundRequestSerializer}, parameters=[IDEMPOTENCY_HEADER]
    )
    @idempotent
    def post(self, request):
        data = RefundRequestCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        refund = services.refund_request_create(
            student=request.user, lesson_id=data.validated_data["lesson"], reason=data.validated_data["reason"]
        )
        return Response(RefundRequestSerializer(refund).data, status=status.HTTP_201_CREATED)


class RefundRequestDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: RefundRequestSerializer})
    def get(self, request, pk: int):
        refund = selectors.refund_request_get(user=request.user, refund_request_id=pk)
        return Response(RefundRequestSerializer(refund).data)


class RefundRequestApproveView(APIView):
    """Staff only: moves the lesson charge back to the student's wallet (once; again -> 409)."""

    permission_classes = [IsAdminUser]

    @extend_schema(request=None, responses={200: RefundRequestSerializer}, parameters=[IDEMPOTENCY_HEADER])
    @idempotent
    def post(self, request, pk: int):
        refund = services.refund_request_approve(refund_request_id=pk, staff=request.user)
        return Response(RefundRequestSerializer(refund).data)


class RefundRequestRejectView(APIView):
    """Staff only: refuses the request; no money moves."""

    permission_classes = [IsAdminUser]

    @extend_schema(request=None, responses={200: RefundRequestSerializer})
    def post(self, request, pk: int):
        refund = services.refund_request_reject(refund_request_id=pk, staff=request.user)
        return Response(RefundRequestSerializer(refund).data)
