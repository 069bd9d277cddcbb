"""The community lists' orderings on the core keyset pagination (wemaster.core.pagination).

DRF's cursor pagination filters on the first ordering field only and skips ties with an
OFFSET, which grows without bound on orderings full of ties (`top`: most posts have 0
reactions). Here the cursor holds the (key, id) of the boundary row and the next page is
`(key, id) < (k, i)`: an index range scan whatever the depth, never an OFFSET.
Pages are plain data (`KeysetPage`) with opaque cursor tokens, so a first page can be cached
and the links rebuilt for each request.
"""

from wemaster.core.pagination import KeysetPage, KeysetPagination, cursor_datetime, cursor_float

__all__ = ["POST_ORDERINGS", "CommentPagination", "KeysetPage", "KeysetPagination", "TagPagination"]


class PostNewPagination(KeysetPagination):
    ordering = ("-created_at", "-id")

    @staticmethod
    def parse_key(raw: str):
        return cursor_datetime(raw)

    @staticmethod
    def format_key(value) -> str:
        return value.isoformat()


class PostTopPagination(KeysetPagination):
    ordering = ("-reaction_count", "-id")


class PostTrendingPagination(KeysetPagination):
    ordering = ("-trending_score", "-id")

    @staticmethod
    def parse_key(raw: str):
        return cursor_float(raw)

    @staticmethod
    def format_key(value) -> str:
        return repr(float(value))


class CommentPagination(KeysetPagination):
    """Oldest first."""

    ordering = ("id",)


class TagPagination(KeysetPagination):
    """Most used first."""

    ordering = ("-post_count", "-id")


POST_ORDERINGS = {"new": PostNewPagination, "top": PostTopPagination, "trending": PostTrendingPagination}
