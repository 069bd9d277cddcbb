from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from earnings.api.permissions import IsTutor as TutorRole
from wemaster.core.schema import ErrorSerializer
from wemaster.scheduling import selectors, services
from wemaster.scheduling.api.serializers import AvailabilitySerializer, SlotsQuerySerializer, SlotsSerializer
from wemaster.scheduling.slots import DatedException, Window

TAGS = ["lessons"]  # booking's side of the API: when a tutor can be booked


class IsTutor(TutorRole):
    """Availability is the tutors' own: any other role gets 403 `permission_denied`."""

    message = "Only tutors have availability."


def _availability_body(tutor) -> dict:
    windows, exceptions = selectors.availability_of(tutor=tutor)
    return AvailabilitySerializer(
        {"timezone": tutor.tutor_profile.timezone, "windows": windows, "exceptions": exceptions}
    ).data


class MyAvailabilityView(APIView):
    """The calling tutor's weekly windows and dated exceptions, in the tutor profile's zone.
    PUT replaces the whole set at once."""

    permission_classes = [IsAuthenticated, IsTutor]

    @extend_schema(tags=TAGS, responses={200: AvailabilitySerializer})
    def get(self, request):
        return Response(_availability_body(request.user))

    @extend_schema(
        tags=TAGS,
        request=AvailabilitySerializer,
        responses={
            200: AvailabilitySerializer,
            400: OpenApiResponse(ErrorSerializer, description="`validation_error` naming `windows` or `exceptions`"),
        },
    )
    def put(self, request):
        body = AvailabilitySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        values = body.validated_data
        services.availability_replace(
            tutor=request.user,
            windows=[
                Window(weekday=w["weekday"], start=w["start_minute"], end=w["end_minute"]) for w in values["windows"]
            ],
            exceptions=[
                DatedException(date=e["date"], kind=e["kind"], start=e["start_minute"], end=e["end_minute"])
                for e in values["exceptions"]
            ],
        )
        return Response(_availability_body(request.user))


class TutorSlotsView(APIView):
    """Bookable start times of a listed tutor: availability minus booked lessons (kept
    LESSON_BUFFER_MINUTES apart), every SLOT_STEP_MINUTES, future ones only."""

    permission_classes = [AllowAny]

    @extend_schema(
        tags=TAGS,
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATETIME, description="With offset; default: now."),
            OpenApiParameter("to", OpenApiTypes.DATETIME, description="With offset; default: 7 days after `from`."),
            OpenApiParameter("duration", int, description="Lesson minutes, as booking accepts them; default 60."),
        ],
        responses={200: SlotsSerializer, 404: OpenApiResponse(ErrorSerializer, description="not a listed tutor")},
    )
    def get(self, request, pk: int):
        query = SlotsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        values = query.validated_data
        found = selectors.tutor_slots(
            tutor_id=pk,
            start=values["start"],
            end=values["end"],
            duration_minutes=values["duration"],
            now=timezone.now(),
        )
        body = {
            "tutor": pk,
            "timezone": found.timezone,
            "duration_minutes": values["duration"],
            "from": values["start"],
            "to": values["end"],
            "slots": found.starts,
        }
        return Response(SlotsSerializer(body).data)
