"""Reviews of lessons: the student writes and edits, the tutor replies, anyone reads a tutor's list.

A tutor's first page of reviews (no `?cursor=`) goes through the cache API, one entry per tutor
and page size (1..MAX_PAGE_SIZE: a closed set, and only for tutors that exist), tagged
`tutor:<id>:reviews`, which every review change bumps on commit.
"""

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from earnings.api.permissions import IsTutor
from wemaster.accounts.models import Role
from wemaster.core.cache import get_or_compute
from wemaster.core.deadlines import PublicReadDeadlineMixin
from wemaster.core.errors import NotFound
from wemaster.core.pagination import KeysetPagination
from wemaster.core.schema import ErrorSerializer
from wemaster.reviews import selectors, services
from wemaster.reviews.api.serializers import (
    PublicReviewSerializer,
    ReviewCreateSerializer,
    ReviewEditSerializer,
    ReviewReplySerializer,
    ReviewSerializer,
)

FAMILY = "tutor_reviews"


def _errors(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


class IsStudent(BasePermission):
    """Reviews are written by students: another role is refused (403) before any object is looked up."""

    message = "Only students write reviews."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.role == Role.STUDENT)


class ReviewPagination(KeysetPagination):
    """Newest first."""

    ordering = ("-pk",)


def tutor_reviews_first_page(*, tutor_id: int, page_size: int) -> dict:
    """The first page of a tutor's visible reviews as `first_page_data` builds it, cached until
    one of the tutor's reviews changes. Precondition: the tutor exists."""
    return get_or_compute(
        f"{FAMILY}:{tutor_id}:{page_size}",
        lambda: ReviewPagination().first_page_data(
            selectors.tutor_reviews(tutor_id=tutor_id), page_size=page_size, serializer_class=PublicReviewSerializer
        ),
        tags=[services.tutor_reviews_tag(tutor_id)],
        ttl=settings.REVIEWS_LIST_TTL,
        family=FAMILY,
    )


class LessonReviewView(APIView):
    """The lesson's student reviews a completed lesson, once."""

    permission_classes = [IsAuthenticated, IsStudent]

    @extend_schema(
        request=ReviewCreateSerializer,
        responses={
            201: ReviewSerializer,
            403: _errors("`permission_denied`: not a student, or the lesson's tutor"),
            404: _errors("`not_found`: no such lesson, or not yours"),
            409: _errors("`lesson_not_completed`, `lesson_refunded`, `review_exists`"),
        },
    )
    def post(self, request, pk: int):
        data = ReviewCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        review = services.review_create(student=request.user, lesson_id=pk, **data.validated_data)
        return Response(ReviewSerializer(review).data, status=status.HTTP_201_CREATED)


class ReviewDetailView(APIView):
    """The author edits the review within REVIEWS_EDIT_WINDOW_DAYS of writing it."""

    permission_classes = [IsAuthenticated, IsStudent]

    @extend_schema(
        request=ReviewEditSerializer,
        responses={
            200: ReviewSerializer,
            404: _errors("`not_found`: no such review, or not yours"),
            409: _errors("`review_edit_window_closed`"),
        },
    )
    def patch(self, request, pk: int):
        data = ReviewEditSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        review = services.review_edit(student=request.user, review_id=pk, **data.validated_data)
        return Response(ReviewSerializer(review).data)


class ReviewReplyView(APIView):
    """The lesson's tutor replies to the review, once."""

    permission_classes = [IsAuthenticated, IsTutor]

    @extend_schema(
        request=ReviewReplySerializer,
        responses={
            200: ReviewSerializer,
            404: _errors("`not_found`: no such review, or not about your lesson"),
            409: _errors("`reply_exists`"),
        },
    )
    def post(self, request, pk: int):
        data = ReviewReplySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        review = services.review_reply(tutor=request.user, review_id=pk, text=data.validated_data["text"])
        return Response(ReviewSerializer(review).data)


class TutorReviewListView(PublicReadDeadlineMixin, generics.ListAPIView):
    """A tutor's visible reviews, newest first; keyset pages. Not a tutor: 404."""

    permission_classes = [AllowAny]
    serializer_class = PublicReviewSerializer
    pagination_class = ReviewPagination

    def get_queryset(self):
        return selectors.tutor_reviews(tutor_id=self.kwargs["pk"])

    @extend_schema(responses={200: PublicReviewSerializer(many=True), 404: _errors("`not_found`: not a tutor")})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        tutor_id = self.kwargs["pk"]
        if not selectors.tutor_exists(tutor_id=tutor_id):
            raise NotFound("Tutor not found.")
        body = self.paginator.respond(
            request,
            queryset=self.get_queryset(),
            serializer_class=PublicReviewSerializer,
            cached_first_page=lambda page_size: tutor_reviews_first_page(tutor_id=tutor_id, page_size=page_size),
        )
        return Response(body)
