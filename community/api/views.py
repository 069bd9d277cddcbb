"""Community endpoints (docs/API.md, Community). Reads are public, writes need a token; views
validate, call one service or page builder, and serialize."""

from contextlib import nullcontext

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from community import selectors, services
from community.api import pages
from community.api.pagination import KeysetPagination
from community.api.serializers import (
    AcceptAnswerInputSerializer,
    CommentInputSerializer,
    CommentPageSerializer,
    CommentSerializer,
    CommentUpdateSerializer,
    FollowInputSerializer,
    FollowSerializer,
    PostDetailSerializer,
    PostInputSerializer,
    PostListQuerySerializer,
    PostPageSerializer,
    ReactionInputSerializer,
    ReactionSerializer,
    ReportInputSerializer,
    ReportSerializer,
    TagPageSerializer,
)
from wemaster.core.client_ip import client_ip
from wemaster.core.deadlines import PublicReadDeadlineMixin
from wemaster.core.errors import NotFound
from wemaster.core.pagination import PAGE_SIZE_DESCRIPTION, envelope
from wemaster.core.serializers import reject_body
from wemaster.core.throttles import ScopedWriteThrottleMixin, expensive_read_slot

PAGE_PARAMETERS = [
    OpenApiParameter("cursor", str, description="Opaque cursor from `next`/`previous`"),
    OpenApiParameter("page_size", int, description=PAGE_SIZE_DESCRIPTION.format(max=settings.MAX_PAGE_SIZE)),
]


class PublicReadMixin(PublicReadDeadlineMixin):
    """GET/HEAD/OPTIONS for everyone (under the public read deadline); every other method needs
    an authenticated user."""

    def get_permissions(self):
        if self.request.method in ("GET", "HEAD", "OPTIONS"):
            return [AllowAny()]
        return [IsAuthenticated()]


def _page_args(request) -> dict:
    return {
        "page_size": KeysetPagination().get_page_size(request),
        "cursor": request.query_params.get("cursor"),
    }


def _as_response(request, data: dict) -> Response:
    return Response(
        envelope(
            data["results"],
            next_url=KeysetPagination.link(request, data["next"]),
            previous_url=KeysetPagination.link(request, data["previous"]),
        )
    )


def _user(request):
    return request.user if request.user.is_authenticated else None


def _post_detail_response(request, post_id: int, *, code=status.HTTP_200_OK) -> Response:
    post = selectors.post_detail(post_id=post_id, viewer=_user(request))
    if post is None:
        raise NotFound()
    post.my_reaction = (
        selectors.reactions_of_user(user=request.user, post_ids=[post.id]).get(post.id)
        if request.user.is_authenticated
        else None
    )
    return Response(PostDetailSerializer(post).data, status=code)


class PostListView(ScopedWriteThrottleMixin, PublicReadMixin, APIView):
    throttle_scope = "post_create"

    @extend_schema(
        parameters=[PostListQuerySerializer, *PAGE_PARAMETERS],
        responses={200: PostPageSerializer},
        operation_id="community_posts_list",
        summary="Posts list (public): filters, orderings new|top|trending, full-text `q`",
    )
    def get(self, request):
        query = PostListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        filters = query.validated_data
        q = filters.get("q", "").strip() or None
        # A search is the one uncached, costly read: one client runs only a few at once.
        with expensive_read_slot("search", client_ip(request)) if q else nullcontext():
            data = pages.post_page(
                ordering=filters["ordering"],
                tag=services.tags_normalize([filters["tag"]])[0] if filters.get("tag", "").strip() else None,
                author_id=filters.get("author"),
                kind=filters.get("kind"),
                q=q,
                **_page_args(request),
            )
        return _as_response(request, pages.with_my_reactions(data, user=_user(request)))

    @extend_schema(request=PostInputSerializer, responses={201: PostDetailSerializer}, summary="Create a post")
    def post(self, request):
        data = PostInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        post = services.post_create(author=request.user, **data.validated_data)
        return _post_detail_response(request, post.id, code=status.HTTP_201_CREATED)


class PostDetailView(PublicReadMixin, APIView):
    @extend_schema(responses={200: PostDetailSerializer})
    def get(self, request, post_id: int):
        return _post_detail_response(request, post_id)

    @extend_schema(request=PostInputSerializer(partial=True), responses={200: PostDetailSerializer})
    def patch(self, request, post_id: int):
        data = PostInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.post_update(post_id=post_id, actor=request.user, **data.validated_data)
        return _post_detail_response(request, post_id)

    @extend_schema(responses={204: None})
    def delete(self, request, post_id: int):
        reject_body(request)
        services.post_delete(post_id=post_id, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CommentListView(ScopedWriteThrottleMixin, PublicReadMixin, APIView):
    throttle_scope = "comment_create"

    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses={200: CommentPageSerializer},
        operation_id="community_comments_list",
        summary="Top-level comments oldest first, each with its replies",
    )
    def get(self, request, post_id: int):
        post = selectors.visible_posts().filter(pk=post_id).values("id", "accepted_comment_id").first()
        if post is None:
            raise NotFound()
        data = pages.comment_page(
            post_id=post["id"], accepted_comment_id=post["accepted_comment_id"], **_page_args(request)
        )
        return _as_response(request, data)

    @extend_schema(request=CommentInputSerializer, responses={201: CommentSerializer})
    def post(self, request, post_id: int):
        data = CommentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        comment = services.comment_create(
            post_id=post_id,
            author=request.user,
            body=data.validated_data["body"],
            parent_id=data.validated_data.get("parent"),
        )
        return Response(CommentSerializer(comment).data, status=status.HTTP_201_CREATED)


class CommentDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=CommentUpdateSerializer, responses={200: CommentSerializer})
    def patch(self, request, post_id: int, comment_id: int):
        data = CommentUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        comment = services.comment_update(
            post_id=post_id, comment_id=comment_id, actor=request.user, body=data.validated_data["body"]
        )
        return Response(CommentSerializer(comment).data)

    @extend_schema(responses={204: None})
    def delete(self, request, post_id: int, comment_id: int):
        reject_body(request)
        services.comment_delete(post_id=post_id, comment_id=comment_id, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReactionView(ScopedWriteThrottleMixin, APIView):
    permission_classes = [IsAuthenticated]
    throttle_scope = "reaction"
    throttle_scope_methods = ("PUT", "DELETE")

    @extend_schema(request=ReactionInputSerializer, responses={200: ReactionSerializer})
    def put(self, request, post_id: int):
        data = ReactionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        reaction = services.reaction_set(post_id=post_id, user=request.user, kind=data.validated_data["kind"])
        count = selectors.visible_posts().values_list("reaction_count", flat=True).get(pk=post_id)
        return Response(ReactionSerializer({"post": post_id, "kind": reaction.kind, "reaction_count": count}).data)

    @extend_schema(responses={204: None})
    def delete(self, request, post_id: int):
        reject_body(request)
        services.reaction_remove(post_id=post_id, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AcceptAnswerView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=AcceptAnswerInputSerializer, responses={200: PostDetailSerializer})
    def post(self, request, post_id: int):
        data = AcceptAnswerInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.answer_accept(post_id=post_id, actor=request.user, comment_id=data.validated_data["comment"])
        return _post_detail_response(request, post_id)


def _report_response(report, created: bool) -> Response:
    return Response(ReportSerializer(report).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class PostReportView(ScopedWriteThrottleMixin, APIView):
    permission_classes = [IsAuthenticated]
    throttle_scope = "report_create"

    @extend_schema(
        request=ReportInputSerializer,
        responses={201: ReportSerializer, 200: OpenApiResponse(ReportSerializer, "Already reported by you")},
    )
    def post(self, request, post_id: int):
        data = ReportInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return _report_response(
            *services.report_create(reporter=request.user, post_id=post_id, reason=data.validated_data["reason"])
        )


class CommentReportView(ScopedWriteThrottleMixin, APIView):
    permission_classes = [IsAuthenticated]
    throttle_scope = "report_create"

    @extend_schema(
        request=ReportInputSerializer,
        responses={201: ReportSerializer, 200: OpenApiResponse(ReportSerializer, "Already reported by you")},
    )
    def post(self, request, comment_id: int):
        data = ReportInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return _report_response(
            *services.report_create(reporter=request.user, comment_id=comment_id, reason=data.validated_data["reason"])
        )


class FeedView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=PAGE_PARAMETERS, responses={200: PostPageSerializer}, summary="Following feed")
    def get(self, request):
        data = pages.post_feed_page(user=request.user, **_page_args(request))
        return _as_response(request, pages.with_my_reactions(data, user=request.user))


class FollowView(ScopedWriteThrottleMixin, APIView):
    permission_classes = [IsAuthenticated]
    throttle_scope = "follow_create"

    @extend_schema(
        request=FollowInputSerializer,
        responses={201: FollowSerializer, 200: OpenApiResponse(FollowSerializer, "Already following")},
    )
    def post(self, request):
        data = FollowInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        follow, created = services.follow_create(
            follower=request.user, user_id=data.validated_data.get("user"), tag_name=data.validated_data.get("tag")
        )
        return Response(
            FollowSerializer(follow).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(
        request=FollowInputSerializer,
        parameters=[OpenApiParameter("user", int), OpenApiParameter("tag", str)],
        responses={204: None},
        description="Body or query string: `user` or `tag`. Idempotent.",
    )
    def delete(self, request):
        data = FollowInputSerializer(data=request.data or request.query_params)
        data.is_valid(raise_exception=True)
        services.follow_delete(
            follower=request.user, user_id=data.validated_data.get("user"), tag_name=data.validated_data.get("tag")
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class TagListView(PublicReadDeadlineMixin, APIView):
    permission_classes = [AllowAny]

    @extend_schema(parameters=PAGE_PARAMETERS, responses={200: TagPageSerializer}, summary="Tags with post counts")
    def get(self, request):
        return _as_response(request, pages.tag_page(**_page_args(request)))
