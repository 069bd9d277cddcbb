"""Keyset pagination over (key, id) for the community lists.

DRF's cursor pagination filters on the first ordering field only and skips ties with an
OFFSET, which grows without bound on orderings full of ties (`top`: most posts have 0
reactions). Here the cursor holds the (key, id) of the boundary row and the next page is
`(key, id) < (k, i)`: an index range scan whatever the depth, never an OFFSET.
Pages are plain data (`KeysetPage`) with opaque cursor tokens, so a first page can be cached
and the links rebuilt for each request.
"""

from base64 import b64encode
from dataclasses import dataclass
from urllib import parse

from django.db import connections
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL
from rest_framework.utils.urls import replace_query_param

from wemaster.core.pagination import (
    CursorPagination,
    InvalidCursor,
    cursor_datetime,
    cursor_float,
    cursor_int,
    cursor_tokens,
)


@dataclass
class KeysetPage:
    rows: list
    next: str | None
    previous: str | None


class KeysetPagination(CursorPagination):
    """`ordering` is `(key, "id")` or `("id",)`, all in the same direction; `id` is the unique tiebreaker."""

    ordering: tuple[str, ...] = ("-id",)

    @staticmethod
    def parse_key(raw: str):
        """The ordering key of a cursor position; raises InvalidCursor. Counters are never negative."""
        return cursor_int(raw)

    @staticmethod
    def format_key(value) -> str:
        return str(value)

    @property
    def _descending(self) -> bool:
        return self.ordering[0].startswith("-")

    @property
    def _key(self) -> str | None:
        return self.ordering[0].lstrip("-") if len(self.ordering) == 2 else None

    def _position(self, row) -> str:
        if self._key is None:
            return str(row.id)
        return f"{self.format_key(getattr(row, self._key))}|{row.id}"

    def _parse_position(self, position: str):
        if self._key is None:
            return None, cursor_int(position, low=1)
        key, separator, row_id = position.rpartition("|")
        if not separator:
            raise InvalidCursor()
        return self.parse_key(key), cursor_int(row_id, low=1)

    @staticmethod
    def encode_token(*, reverse: bool, position: str) -> str:
        tokens = {"p": position, **({"r": "1"} if reverse else {})}
        return b64encode(parse.urlencode(tokens).encode()).decode("ascii")

    def decode_token(self, token: str):
        """(reverse, (key, id)) of a token; raises InvalidCursor for anything `encode_token` cannot make."""
        tokens = cursor_tokens(token, allowed=frozenset({"p", "r"}))
        if "p" not in tokens or tokens.get("r", "1") != "1":
            raise InvalidCursor()
        return "r" in tokens, self._parse_position(tokens["p"])

    def _beyond(self, queryset: QuerySet, key, row_id, *, forward: bool) -> QuerySet:
        op = "lt" if self._descending == forward else "gt"
        if self._key is None:
            return queryset.filter(**{f"id__{op}": row_id})
        # A row-value comparison, (key, id) < (k, i): PostgreSQL (and SQLite) start an index range
        # scan right at the boundary row, so a page costs the same at any depth.
        meta = queryset.model._meta
        field = meta.get_field(self._key)
        db = connections[queryset.db]
        value = field.get_db_prep_value(key, connection=db, prepared=False)
        table, column = db.ops.quote_name(meta.db_table), db.ops.quote_name(field.column)
        sql = f'({table}.{column}, {table}."id") {"<" if op == "lt" else ">"} (%s, %s)'
        return queryset.filter(RawSQL(sql, [value, row_id], output_field=BooleanField()))

    def page(self, queryset: QuerySet, *, cursor: str | None, page_size: int, fetch=None) -> KeysetPage:
        """One page of `queryset` after (or, for a reverse token, before) the cursor. `fetch`,
        if given, reads the rows instead of a plain ORDER BY ... LIMIT:
        `fetch(queryset, ordering=..., limit=...) -> list` (the full-text search does)."""
        reverse, position = self.decode_token(cursor) if cursor else (False, None)
        if position is not None:
            queryset = self._beyond(queryset, *position, forward=not reverse)
        ordering = self.ordering
        if reverse:
            ordering = tuple(field[1:] if field.startswith("-") else f"-{field}" for field in ordering)
        if fetch is None:
            rows = list(queryset.order_by(*ordering)[: page_size + 1])
        else:
            rows = fetch(queryset, ordering=ordering, limit=page_size + 1)
        has_more = len(rows) > page_size
        rows = rows[:page_size]
        if reverse:
            rows.reverse()
        has_next, has_previous = (position is not None, has_more) if reverse else (has_more, position is not None)
        return KeysetPage(
            rows=rows,
            next=self.encode_token(reverse=False, position=self._position(rows[-1])) if has_next and rows else None,
            previous=self.encode_token(reverse=True, position=self._position(rows[0]))
            if has_previous and rows
            else None,
        )

    @staticmethod
    def link(request, token: str | None) -> str | None:
        if token is None:
            return None
        return replace_query_param(request.build_absolute_uri(), "cursor", token)


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
