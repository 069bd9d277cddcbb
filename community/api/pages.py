"""Public list pages as plain data, first pages cached with the platform cache.

A page is `{"results": [...], "next": token|None, "previous": token|None}`: serialized rows
with `my_reaction` left empty and opaque cursor tokens. The shared first page is cached as
such (per ordering and filter, never per user); views then merge the caller's reactions for
the ids on the page with one query and turn tokens into links.

Filters come from the query string, so keys are hashes of them (`params_key`) and every page but
the default ones is capped per family (`distinct_keys`); a filtered page with no rows is not
stored at all (an unknown tag or author costs one indexed query, not a key). While the database
is down, a stale page is served without the posts removed since it was cached (`removals`).
"""

from functools import partial

from django.conf import settings

from community import cache_tags, selectors
from community.api.pagination import POST_ORDERINGS, CommentPagination, TagPagination
from community.api.serializers import CommentSerializer, PostListSerializer, TagSerializer
from wemaster.accounts.models import User
from wemaster.core.cache import get_or_compute
from wemaster.core.cache.keys import params_key
from wemaster.core.cache.removals import removed_among


def _page_data(page, rows) -> dict:
    return {"results": rows, "next": page.next, "previous": page.previous}


def _has_rows(data: dict) -> bool:
    return bool(data["results"])


def without_removed_posts(data: dict) -> dict:
    """A stale page without the posts hidden or deleted since it was cached (no database read).
    Raises RemovalsUnknown when Redis cannot tell."""
    gone = removed_among(cache_tags.REMOVED_POST, [row["id"] for row in data["results"]])
    return {**data, "results": [row for row in data["results"] if row["id"] not in gone]}


def post_page(
    *,
    ordering: str = "new",
    tag: str | None = None,
    author_id: int | None = None,
    kind: str | None = None,
    q: str | None = None,
    page_size: int | None = None,
    cursor: str | None = None,
) -> dict:
    """A page of the public posts list. First pages without a search are cached, tagged with
    the list and its filters. Tags are fixed before computing, so a page cannot carry the ids
    of its posts: a write that changes which posts a list holds bumps `community:posts`; a
    counter change on one post (a comment, a reaction) bumps only the pages that can hold that
    post (unfiltered, its tags', its author's: `services._post_lists_invalidate`); the trending
    refresh only bumps `community:ranked`."""
    paginator = POST_ORDERINGS[ordering]()
    page_size = page_size or paginator.page_size

    def compute() -> dict:
        posts = selectors.post_list(tag=tag, author_id=author_id, kind=kind)
        fetch = partial(selectors.post_search_rows, q=q) if q else None
        page = paginator.page(posts, cursor=cursor, page_size=page_size, fetch=fetch)
        return _page_data(page, PostListSerializer(page.rows, many=True).data)

    if cursor or q:
        return compute()
    tags = [cache_tags.POSTS, cache_tags.AUTHORS]
    if ordering != "new":
        tags.append(cache_tags.RANKED)
    if tag:
        tags.append(cache_tags.tag(tag))
    if author_id is not None:
        tags.append(cache_tags.author(author_id))
    if not tag and author_id is None:
        tags.append(cache_tags.UNFILTERED)

    filtered = bool(tag) or author_id is not None
    default_page = not filtered and not kind and page_size == paginator.page_size
    return get_or_compute(
        params_key("community:posts", ordering=ordering, kind=kind, tag=tag, author=author_id, page_size=page_size),
        compute,
        tags=tags,
        ttl=settings.COMMUNITY_LIST_CACHE_TTL,
        family="community_posts",
        local=False,
        stale_if_error=True,
        on_stale=without_removed_posts,
        distinct_keys=None if default_page else settings.CACHE_PARAM_KEYS_PER_FAMILY,
        store_if=_has_rows if filtered else None,
    )


def post_feed_page(*, user: User, page_size: int | None, cursor: str | None) -> dict:
    """The caller's following feed, newest first (private: never cached)."""
    paginator = POST_ORDERINGS["new"]()
    page = paginator.page(selectors.post_feed(user=user), cursor=cursor, page_size=page_size or paginator.page_size)
    return _page_data(page, PostListSerializer(page.rows, many=True).data)


def with_my_reactions(data: dict, *, user: User | None) -> dict:
    """`data` with `my_reaction` filled for `user` (one query, none for anonymous callers)."""
    rows = [dict(row) for row in data["results"]]
    mine = (
        selectors.reactions_of_user(user=user, post_ids=[row["id"] for row in rows])
        if user is not None and user.is_authenticated
        else {}
    )
    for row in rows:
        row["my_reaction"] = mine.get(row["id"])
    return {**data, "results": rows}


def comment_page(*, post_id: int, accepted_comment_id: int | None, page_size: int | None, cursor: str | None):
    paginator = CommentPagination()
    page_size = page_size or paginator.page_size

    def compute() -> dict:
        page = paginator.page(selectors.comment_list(post_id=post_id), cursor=cursor, page_size=page_size)
        context = {"accepted_comment_id": accepted_comment_id}
        return _page_data(page, CommentSerializer(page.rows, many=True, context=context).data)

    if cursor:
        return compute()
    return get_or_compute(
        f"community:comments:{post_id}:{accepted_comment_id or ''}:{page_size}",
        compute,
        tags=[cache_tags.post_comments(post_id), cache_tags.AUTHORS],
        ttl=settings.COMMUNITY_LIST_CACHE_TTL,
        family="community_comments",
        local=False,
        stale_if_error=True,
        distinct_keys=settings.CACHE_PARAM_KEYS_PER_FAMILY,
    )


def tag_page(*, page_size: int | None = None, cursor: str | None = None) -> dict:
    paginator = TagPagination()
    page_size = page_size or paginator.page_size

    def compute() -> dict:
        page = paginator.page(selectors.tag_list(), cursor=cursor, page_size=page_size)
        return _page_data(page, TagSerializer(page.rows, many=True).data)

    if cursor:
        return compute()
    return get_or_compute(
        f"community:tags:{page_size}",
        compute,
        tags=[cache_tags.TAGS],
        ttl=settings.COMMUNITY_TAGS_CACHE_TTL,
        family="community_tags",
        local=False,
        stale_if_error=True,
    )
