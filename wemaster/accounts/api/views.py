from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from wemaster.accounts import selectors, services
from wemaster.accounts.api import auth, directory
from wemaster.accounts.api.serializers import (
    DirectoryQuerySerializer,
    MeSerializer,
    MeUpdateSerializer,
    SubjectSerializer,
    TutorDetailSerializer,
    TutorSerializer,
)
from wemaster.core.client_ip import client_ip
from wemaster.core.deadlines import PublicReadDeadlineMixin
from wemaster.core.errors import NotFound
from wemaster.core.schema import ErrorSerializer
from wemaster.core.throttles import ScopedWriteThrottleMixin, expensive_read_slot

ACCOUNTS = ["accounts"]


class MeView(ScopedWriteThrottleMixin, APIView):
    permission_classes = [IsAuthenticated]
    # Deactivation checks the password: limited per user like a password change.
    throttle_scope = "password"
    throttle_scope_methods = ("DELETE",)

    @extend_schema(tags=ACCOUNTS, responses={200: MeSerializer})
    def get(self, request):
        return Response(MeSerializer(selectors.user_with_profile(user_id=request.user.id)).data)

    @extend_schema(
        tags=ACCOUNTS,
        request=MeUpdateSerializer,
        responses={200: MeSerializer},
        description="Partial update of the caller's profile. Tutors set their public profile inside "
        '`tutor_profile` (the object GET returns), e.g. `{"tutor_profile": {"hourly_rate": "40.00", '
        '"subjects": ["algebra"]}}`; a tutor is listed and bookable once it has a rate and a subject. '
        "`tutor_profile` from anyone else, or a profile field outside it, is a 400 naming the field.",
    )
    def patch(self, request):
        data = MeUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.user_update(user=request.user, **data.to_arguments())
        return Response(MeSerializer(selectors.user_with_profile(user_id=request.user.id)).data)

    @auth.DEACTIVATE_SCHEMA
    def delete(self, request):
        return auth.deactivate(request)


class TutorListView(PublicReadDeadlineMixin, generics.ListAPIView):
    """Public directory of bookable tutors (a rate and at least one subject), newest first unless
    `ordering` says otherwise; keyset pages. Bad filter values are a 400 naming the parameter."""

    permission_classes = [AllowAny]
    serializer_class = TutorSerializer
    pagination_class = directory.TutorNewestPagination

    def get_queryset(self):
        return selectors.tutor_directory()

    @extend_schema(tags=ACCOUNTS, parameters=[DirectoryQuerySerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        """First pages without a rate range or free time come through the cache; the rest from the
        database (free time: `directory.free_time_page`)."""
        query = DirectoryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        values = query.validated_data
        subject_id = _catalog_subject_id(values.get("subject"))
        language, ordering = values.get("language"), values["ordering"]
        rates = {"min_rate": values.get("min_rate"), "max_rate": values.get("max_rate")}
        if values.get("free_from") is not None:
            # Never cached (the range is request input) and costly: one client runs few at once.
            with expensive_read_slot("search", client_ip(request)):
                body = directory.free_time_page(
                    request,
                    tutors=selectors.tutor_directory(subject_id=subject_id, language=language, **rates),
                    ordering=ordering,
                    start=values["free_from"],
                    end=values["free_to"],
                    duration_minutes=values["duration"],
                )
            return Response(body)
        cached = None
        if rates == {"min_rate": None, "max_rate": None}:  # the cache keys stay a closed set

            def cached(page_size: int) -> dict:
                return directory.first_page(
                    subject_id=subject_id, language=language, ordering=ordering, page_size=page_size
                )

        body = directory.DIRECTORY_ORDERINGS[ordering]().respond(
            request,
            queryset=selectors.tutor_directory(subject_id=subject_id, language=language, **rates),
            serializer_class=TutorSerializer,
            cached_first_page=cached,
        )
        return Response(body)


def _catalog_subject_id(name: str | None) -> int | None:
    """The id of a catalog subject by normalized name. Raises ValidationError naming `subject`."""
    if not name:
        return None
    subject_id = directory.subject_catalog().get(name)
    if subject_id is None:
        raise ValidationError({"subject": [f'Unknown subject "{name}". GET /api/v1/subjects lists them.']})
    return subject_id


class TutorDetailView(PublicReadDeadlineMixin, APIView):
    """One bookable tutor's public profile; anyone else (not bookable, not a tutor) is 404."""

    permission_classes = [AllowAny]

    @extend_schema(tags=ACCOUNTS, responses={200: TutorDetailSerializer, 404: ErrorSerializer})
    def get(self, request, pk: int):
        profile = selectors.tutor_detail(tutor_id=pk)
        if profile is None:
            raise NotFound("Tutor not found.")
        return Response(TutorDetailSerializer(profile).data)


class SubjectListView(PublicReadDeadlineMixin, generics.ListAPIView):
    """The subject catalog, alphabetical, each with the number of bookable tutors teaching it.
    Tutors choose their subjects from it; the directory filters by its names."""

    permission_classes = [AllowAny]
    serializer_class = SubjectSerializer
    pagination_class = directory.SubjectPagination

    def get_queryset(self):
        return selectors.subject_list()

    @extend_schema(tags=ACCOUNTS)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        body = self.paginator.respond(
            request,
            queryset=self.get_queryset(),
            serializer_class=SubjectSerializer,
            cached_first_page=lambda page_size: directory.subjects_first_page(page_size=page_size),
        )
        return Response(body)
