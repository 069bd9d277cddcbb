"""Shapes of the community API (docs/API.md, Community). Input serializers check shape only;
services normalize and enforce the rules (tag count, reply depth, ownership)."""

from django.conf import settings
from drf_spectacular.utils import extend_schema_field

from community.models import TAG_MAX_LENGTH, Comment, Post, PostKind, ReactionKind, Report, Tag
from wemaster.core import serializers
from wemaster.core.cache.keys import printable
from wemaster.core.pagination import BIGINT_MAX


class AuthorSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    display_name = serializers.CharField()


class _MyReactionMixin(serializers.Serializer):
    my_reaction = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ChoiceField(choices=ReactionKind.choices, allow_null=True))
    def get_my_reaction(self, post) -> str | None:
        # Lists merge the caller's reactions after serializing (the page itself may be cached).
        return getattr(post, "my_reaction", None)


class PostListSerializer(_MyReactionMixin, serializers.ModelSerializer):
    author = AuthorSerializer()
    excerpt = serializers.CharField()
    tags = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")

    class Meta:
        model = Post
        fields = [
            "id",
            "author",
            "kind",
            "title",
            "excerpt",
            "tags",
            "reaction_count",
            "comment_count",
            "accepted_comment",
            "my_reaction",
            "created_at",
        ]
        read_only_fields = fields


class PostDetailSerializer(_MyReactionMixin, serializers.ModelSerializer):
    author = AuthorSerializer()
    tags = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")

    class Meta:
        model = Post
        fields = [
            "id",
            "author",
            "kind",
            "title",
            "body",
            "tags",
            "reaction_count",
            "comment_count",
            "accepted_comment",
            "my_reaction",
            "is_hidden",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class PostInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    body = serializers.CharField(max_length=20_000)
    kind = serializers.ChoiceField(choices=PostKind.choices, default=PostKind.DISCUSSION)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=TAG_MAX_LENGTH, allow_blank=True),
        default=list,
        help_text=f"At most {settings.COMMUNITY_MAX_TAGS_PER_POST} after normalization (lowercase, trimmed).",
    )


class PostListQuerySerializer(serializers.Serializer):
    """Filters are checked (length, printable characters, id range) before they reach a cache key
    or a query (wemaster.core.cache.keys)."""

    tag = serializers.CharField(required=False, max_length=TAG_MAX_LENGTH, validators=[printable])
    author = serializers.IntegerField(required=False, min_value=1, max_value=BIGINT_MAX)
    kind = serializers.ChoiceField(choices=PostKind.choices, required=False)
    q = serializers.CharField(required=False, max_length=200, validators=[printable])
    ordering = serializers.ChoiceField(choices=["new", "top", "trending"], default="new")


class ReplySerializer(serializers.ModelSerializer):
    author = AuthorSerializer()
    is_accepted = serializers.SerializerMethodField()

    class Meta:
        model = Comment
        fields = ["id", "post", "parent", "author", "body", "is_accepted", "created_at", "updated_at"]
        read_only_fields = fields

    def get_is_accepted(self, comment) -> bool:
        return comment.id == self.context.get("accepted_comment_id")


class CommentSerializer(ReplySerializer):
    replies = ReplySerializer(many=True, read_only=True)

    class Meta(ReplySerializer.Meta):
        fields = [*ReplySerializer.Meta.fields, "replies"]
        read_only_fields = fields


class CommentInputSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=10_000)
    parent = serializers.IntegerField(required=False, allow_null=True, min_value=1)


class CommentUpdateSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=10_000)


class ReactionInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ReactionKind.choices)


class ReactionSerializer(serializers.Serializer):
    post = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=ReactionKind.choices)
    reaction_count = serializers.IntegerField()


class AcceptAnswerInputSerializer(serializers.Serializer):
    comment = serializers.IntegerField(allow_null=True, min_value=1, help_text="null clears the accepted answer")


class ReportInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class ReportSerializer(serializers.ModelSerializer):
    class Meta:
        model = Report
        fields = ["id", "post", "comment", "reason", "status", "created_at"]
        read_only_fields = fields


class FollowInputSerializer(serializers.Serializer):
    user = serializers.IntegerField(required=False, min_value=1)
    tag = serializers.CharField(required=False, max_length=TAG_MAX_LENGTH)

    def validate(self, attrs):
        if ("user" in attrs) == ("tag" in attrs):
            raise serializers.ValidationError("Give exactly one of user, tag.")
        return attrs


class FollowSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    user = serializers.IntegerField(source="followed_user_id", allow_null=True)
    tag = serializers.CharField(source="tag.name", allow_null=True, default=None)
    created_at = serializers.DateTimeField()


class TagSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ["id", "name", "post_count"]
        read_only_fields = fields


def page_serializer(name: str, item: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """The cursor-list envelope of the API around `item`, for the OpenAPI schema."""
    return type(
        name,
        (serializers.Serializer,),
        {
            "results": item(many=True),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
        },
    )


PostPageSerializer = page_serializer("PostPage", PostListSerializer)
CommentPageSerializer = page_serializer("CommentPage", CommentSerializer)
TagPageSerializer = page_serializer("TagPage", TagSerializer)
