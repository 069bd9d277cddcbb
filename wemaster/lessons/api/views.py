from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import IsAdminUser, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from wemaster.core.idempotency import idempotent
from wemaster.core.schema import ErrorSerializer
from wemaster.core.serializers import reject_body
from wemaster.lessons import selectors, services
from wemaster.lessons.api.serializers import (
    LessonBookSerializer,
    LessonListQuerySerializer,
    LessonReportProblemSerializer,
    LessonResolveSerializer,
    LessonSerializer,
    RefundRequestCreateSerializer,
    RefundRequestListQuerySerializer,
    RefundRequestSerializer,
)
from wemaster.lessons.models import LessonStatus, RefundStatus

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, description="Replays the first response (same key and body)."
)


def conflict(codes: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=codes)


NOT_YOURS = OpenApiResponse(ErrorSerializer, description="`not_found`: no such lesson, or not yours")


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
    """Capture the held price once the lesson has ended. The student may confirm at once; the
    tutor only after the student's problem-report window (LESSONS_PROBLEM_REPORT_WINDOW_HOURS
    after the end), when the lesson would also complete automatically."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None,
        responses={
            200: LessonSerializer,
            404: NOT_YOURS,
            409: conflict(
                "`lesson_not_ended` before the end; `report_window_open` for the tutor while the student may "
                "still report a problem (the detail says until when); `invalid_transition` if not booked"
            ),
        },
        parameters=[IDEMPOTENCY_HEADER],
    )
    @idempotent
    def post(self, request, pk: int):
        reject_body(request)
        services.lesson_complete(lesson_id=pk, actor=request.user)
        return Response(LessonSerializer(selectors.lesson_get(user=request.user, lesson_id=pk)).data)


class LessonCancelView(APIView):
    """Release the held price before the start; a student cancelling within
    LESSONS_FREE_CANCELLATION_HOURS of the start pays a fee, charged like a lesson."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None,
        responses={
            200: LessonSerializer,
            404: NOT_YOURS,
            409: conflict("`lesson_started` at or after the start; `invalid_transition` if not booked"),
        },
        parameters=[IDEMPOTENCY_HEADER],
    )
    @idempotent
    def post(self, request, pk: int):
        reject_body(request)
        services.lesson_cancel(lesson_id=pk, actor=request.user)
        return Response(LessonSerializer(selectors.lesson_get(user=request.user, lesson_id=pk)).data)


class LessonReportProblemView(APIView):
    """The student reports a problem after the end, within the report window: the lesson becomes
    `disputed` and its price stays held until staff resolve it."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=LessonReportProblemSerializer,
        responses={
            200: LessonSerializer,
            403: OpenApiResponse(ErrorSerializer, description="`permission_denied`: the tutor cannot report"),
            404: NOT_YOURS,
            409: conflict(
                "`lesson_not_ended` before the end; `report_window_closed` after the window; "
                "`invalid_transition` if not booked"
            ),
        },
    )
    def post(self, request, pk: int):
        data = LessonReportProblemSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.lesson_report_problem(lesson_id=pk, student=request.user, reason=data.validated_data["reason"])
        return Response(LessonSerializer(selectors.lesson_get(user=request.user, lesson_id=pk)).data)


class LessonResolveView(APIView):
    """Staff only: decide a disputed lesson. `complete` pays the tutor as a completion would
    (commission included); `refund` releases the hold, the student pays nothing."""

    permission_classes = [IsAdminUser]

    @extend_schema(
        request=LessonResolveSerializer,
        responses={
            200: LessonSerializer,
            403: OpenApiResponse(
                ErrorSerializer,
                description="`permission_denied` (not staff); `conflict_of_interest`: the staff user is the "
                "lesson's student or tutor",
            ),
            404: OpenApiResponse(ErrorSerializer, description="`not_found`: no such lesson"),
            409: conflict("`invalid_transition`: the lesson is not disputed"),
        },
        parameters=[IDEMPOTENCY_HEADER],
    )
    @idempotent
    def post(self, request, pk: int):
        data = LessonResolveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        lesson = services.lesson_dispute_resolve(
            lesson_id=pk, staff=request.user, outcome=data.validated_data["outcome"], note=data.validated_data["note"]
        )
        return Response(LessonSerializer(selectors.lesson_get_for_staff(lesson_id=lesson.pk)).data)


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
        reject_body(request)
        refund = services.refund_request_approve(refund_request_id=pk, staff=request.user)
        return Response(RefundRequestSerializer(refund).data)


class RefundRequestRejectView(APIView):
    """Staff only: refuses the request; no money moves."""

    permission_classes = [IsAdminUser]

    @extend_schema(request=None, responses={200: RefundRequestSerializer})
    def post(self, request, pk: int):
        reject_body(request)
        refund = services.refund_request_reject(refund_request_id=pk, staff=request.user)
        return Response(RefundRequestSerializer(refund).data)
