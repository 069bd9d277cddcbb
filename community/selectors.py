"""Community reads, shaped for their callers: a constant number of queries per page."""

from django.conf import settings
from django.db import connection
from django.db.models import BooleanField, Prefetch, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import Substr

from community.models import Comment, Follow, Post, PostTag, Reaction, Tag
from wemaster.accounts.models import User

_TAGS_PREFETCH = Prefetch("tags", queryset=Tag.objects.only("id", "name").order_by("name"))
_AUTHOR_FIELDS = ("author__id", "author__display_name")


def visible_posts() -> QuerySet[Post]:
    return Post.objects.filter(is_hidden=False, deleted_at__isnull=True)


def _shaped_for_list(posts: QuerySet[Post]) -> QuerySet[Post]:
    """Author and tags loaded, the excerpt cut in SQL so the body never leaves the database."""
    return (
        posts.select_related("author")
        .prefetch_related(_TAGS_PREFETCH)
        .annotate(excerpt=Substr("body", 1, settings.COMMUNITY_EXCERPT_LENGTH))
        .only(
            "id",
            "kind",
            "title",
            "reaction_count",
            "comment_count",
            "trending_score",
            "accepted_comment_id",
            "created_at",
            "author_id",
            *_AUTHOR_FIELDS,
        )
    )


def _search(posts: QuerySet[Post], q: str) -> QuerySet[Post]:
    """Full-text search on PostgreSQL (stored tsvector column, GIN index: migration 0002);
    a plain case-insensitive substring match elsewhere."""
    if connection.vendor == "postgresql":
        return posts.filter(
            RawSQL(
                "community_post.search_vector @@ websearch_to_tsquery('english'::regconfig, %s)",
                [q],
                output_field=BooleanField(),
            )
        )
    return posts.filter(Q(title__icontains=q) | Q(body__icontains=q))


def post_list(
    *, tag: str | None = None, author_id: int | None = None, kind: str | None = None, q: str | None = None
) -> QuerySet[Post]:
    """Visible posts matching every given filter, shaped for a list page (order: the paginator's)."""
    posts = visible_posts()
    if tag:
        posts = posts.filter(id__in=PostTag.objects.filter(tag__name=tag).values("post_id"))
    if author_id is not None:
        posts = posts.filter(author_id=author_id)
    if kind:
        posts = posts.filter(kind=kind)
    if q:
        posts = _search(posts, q)
    return _shaped_for_list(posts)


def post_feed(*, user: User) -> QuerySet[Post]:
    """Visible posts by the users `user` follows or carrying a tag they follow; each post once
    (subqueries, not joins, so a post matching both appears once)."""
    follows = Follow.objects.filter(follower=user)
    followed_users = follows.filter(followed_user__isnull=False).values("followed_user_id")
    followed_tags = follows.filter(tag__isnull=False).values("tag_id")
    tagged = PostTag.objects.filter(tag_id__in=followed_tags).values("post_id")
    return _shaped_for_list(visible_posts().filter(Q(author_id__in=followed_users) | Q(id__in=tagged)))


def post_detail(*, post_id: int, viewer: User | None) -> Post | None:
    """The post with body, author and tags, or None when the viewer may not see it: deleted
    posts are gone for everyone, hidden ones are visible to staff only."""
    posts = Post.objects.filter(pk=post_id, deleted_at__isnull=True)
    if not (viewer is not None and viewer.is_staff):
        posts = posts.filter(is_hidden=False)
    return posts.select_related("author").prefetch_related(_TAGS_PREFETCH).first()


def reactions_of_user(*, user: User, post_ids: list[int]) -> dict[int, str]:
    """{post id: reaction kind} for the posts among `post_ids` the user reacted to: one query."""
    if not post_ids:
        return {}
    return dict(Reaction.objects.filter(user=user, post_id__in=post_ids).values_list("post_id", "kind"))


def comment_list(*, post_id: int) -> QuerySet[Comment]:
    """Visible top-level comments of a post with their visible replies (oldest first) and authors."""
    replies = Comment.objects.filter(is_hidden=False, deleted_at__isnull=True).select_related("author").order_by("id")
    return (
        Comment.objects.filter(post_id=post_id, parent__isnull=True, is_hidden=False, deleted_at__isnull=True)
        .select_related("author")
        .prefetch_related(Prefetch("replies", queryset=replies))
    )


def tag_list() -> QuerySet[Tag]:
    """Tags with at least one visible post (order: the paginator's)."""
    return Tag.objects.filter(post_count__gt=0).only("id", "name", "post_count")
