"""Community reads, shaped for their callers: a constant number of queries per page."""

from django.conf import settings
from django.db import connection, connections, transaction
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


def _matches(q: str) -> RawSQL:
    """PostgreSQL full-text match on the stored tsvector column (GIN index: migration 0002)."""
    return RawSQL(
        "community_post.search_vector @@ websearch_to_tsquery('english'::regconfig, %s)",
        [q],
        output_field=BooleanField(),
    )


def post_list(*, tag: str | None = None, author_id: int | None = None, kind: str | None = None) -> QuerySet[Post]:
    """Visible posts matching every given filter, shaped for a list page (order: the paginator's;
    a full-text `q` is applied when fetching a page: `post_search_rows`)."""
    posts = visible_posts()
    if tag:
        posts = posts.filter(id__in=PostTag.objects.filter(tag__name=tag).values("post_id"))
    if author_id is not None:
        posts = posts.filter(author_id=author_id)
    if kind:
        posts = posts.filter(kind=kind)
    return _shaped_for_list(posts)


def post_search_rows(posts: QuerySet[Post], *, q: str, ordering: tuple[str, ...], limit: int) -> list[Post]:
    """The first `limit` posts of `posts` in `ordering` that match the full-text query `q`.

    On PostgreSQL the cost is bounded whatever the query (README, Community: "Search cost"). Asked for
    `ORDER BY created_at LIMIT n`, the planner walks the ordering's index and tests each post,
    betting on its estimate of how many match; for a query that matches far fewer than estimated
    (a phrase, words that never meet, an unknown word) it walks every post. Here:
    1. the newest (first in `ordering`) COMMUNITY_SEARCH_WINDOW posts are tested: a bounded walk
       that answers every query matching many recent posts, the common case, at once;
    2. if they hold fewer than `limit` matches, the matches are taken from the GIN index first
       (`_search_by_index`) and only they are sorted: the cost follows the number of matches.
    Elsewhere (SQLite) a case-insensitive substring match on title and body."""
    if connection.vendor != "postgresql":
        return list(posts.filter(Q(title__icontains=q) | Q(body__icontains=q)).order_by(*ordering)[:limit])
    window_size = settings.COMMUNITY_SEARCH_WINDOW
    window = list(posts.order_by(*ordering).annotate(hit=_matches(q)).values_list("id", "hit")[:window_size])
    ids = [post_id for post_id, hit in window if hit][:limit]
    if len(ids) < limit and len(window) == window_size:
        ids = _search_by_index(posts, q=q, ordering=ordering, limit=limit)
    found = {post.id: post for post in posts.filter(id__in=ids)}
    return [found[post_id] for post_id in ids if post_id in found]


def _search_by_index(posts: QuerySet[Post], *, q: str, ordering: tuple[str, ...], limit: int) -> list[int]:
    """Ids of the first `limit` posts of `posts` matching `q` in `ordering`, read from the GIN
    index: the matches are collected in a MATERIALIZED CTE (the outer ORDER BY ... LIMIT cannot
    be pushed into it) and, within this one transaction, the planner may use neither a
    sequential scan nor a plain index walk, so the only way to the rows is the bitmap of the
    search index. A query with no word to look for (only exclusions, or only stop words) has
    no index entry to start from and finds nothing beyond the window."""
    alias = posts.db
    with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
        cursor.execute("SELECT querytree(websearch_to_tsquery('english'::regconfig, %s))", [q])
        if cursor.fetchone()[0] in ("", "T"):
            return []
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        columns = [field.lstrip("-") for field in ordering]
        matches, params = posts.filter(_matches(q)).order_by().values(*columns).query.sql_with_params()
        order = ", ".join(f'"{field.lstrip("-")}" {"DESC" if field.startswith("-") else "ASC"}' for field in ordering)
        cursor.execute(
            f"WITH matches AS MATERIALIZED ({matches}) SELECT id FROM matches ORDER BY {order} LIMIT %s",
            [*params, limit],
        )
        ids = [row[0] for row in cursor.fetchall()]
        # It wrote nothing: rolling back ends the planner settings with it, also when this runs
        # inside a caller's transaction (a savepoint then).
        transaction.set_rollback(True, using=alias)
    return ids


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
