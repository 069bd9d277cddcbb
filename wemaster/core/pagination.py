"""Keyset (cursor) pagination for every list; OFFSET pagination does not exist here.

Every list answers the one envelope `{"results": [...], "next": url|null, "previous": url|null}`
(`envelope`), and every page size parameter (`page_size`, and `limit` on message history) is read
by `page_size_from`: a positive integer, clamped to `MAX_PAGE_SIZE`; anything else is a 400
naming the parameter.
"""

from base64 import b64decode, b64encode
from dataclasses import dataclass
from urllib import parse

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connections
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL
from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from wemaster.core.errors import DomainError


class InvalidCursor(DomainError):
    code = "invalid_cursor"
    default_detail = "The cursor is invalid or expired."


PAGE_SIZE_DESCRIPTION = "Items per page, 1-{max}; a larger value is clamped to {max}."


def page_size_from(request, param: str = "page_size", *, default: int) -> int:
    """`param` of the query string as a page size: `default` when absent, at most
    `settings.MAX_PAGE_SIZE` (a larger value is clamped, the same on every list). Raises a
    ValidationError (400) naming `param` for anything but a positive integer."""
    raw = request.query_params.get(param)
    if raw is None:
        return min(default, settings.MAX_PAGE_SIZE)
    if not (raw.isascii() and raw.isdigit() and int(raw) > 0):
        raise ValidationError({param: ["A positive integer is required."]}, code="invalid")
    return min(int(raw), settings.MAX_PAGE_SIZE)


def envelope(results, *, next_url: str | None, previous_url: str | None) -> dict:
    """The one list shape of the API."""
    return {"results": results, "next": next_url, "previous": previous_url}


def envelope_schema(results_schema: dict) -> dict:
    """The OpenAPI schema of `envelope` around `results_schema` (an array schema)."""
    link = {"type": "string", "nullable": True, "format": "uri"}
    return {
        "type": "object",
        "required": ["results", "next", "previous"],
        "properties": {"results": results_schema, "next": link, "previous": link},
    }


class CursorPagination(pagination.CursorPagination):
    """Newest first by id (ids grow with time and are unique, so the cursor is stable).

    `?page_size=` is read by `page_size_from`; a malformed cursor is a 400, not DRF's 404.
    """

    ordering = "-id"
    page_size_query_param = "page_size"
    page_size_query_description = PAGE_SIZE_DESCRIPTION.format(max=settings.MAX_PAGE_SIZE)

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except pagination.NotFound as exc:
            raise InvalidCursor() from exc

    def paginate_queryset(self, queryset, request, view=None):
        # A well-formed cursor may still carry a forged position that the ordering field cannot
        # take (e.g. a number for a datetime ordering): that is a bad cursor, not a server error.
        try:
            return super().paginate_queryset(queryset, request, view)
        except (DjangoValidationError, ValueError, TypeError, OverflowError) as exc:
            raise InvalidCursor() from exc

    def get_page_size(self, request):
        return page_size_from(request, self.page_size_query_param, default=self.page_size)

    def get_paginated_response(self, data):
        return Response(envelope(data, next_url=self.get_next_link(), previous_url=self.get_previous_link()))

    def get_paginated_response_schema(self, schema):
        return envelope_schema(schema)


@dataclass
class KeysetPage:
    rows: list
    next: str | None
    previous: str | None


class KeysetPagination(CursorPagination):
    """Keyset pages over `(key, pk)`, never an OFFSET, for lists whose first page is cached.

    DRF's cursor pagination filters on the first ordering field only and skips ties with an
    OFFSET, which grows without bound on orderings full of ties (equal prices, equal ratings).
    Here the cursor holds the (key, pk) of the boundary row and the next page is
    `(key, pk) < (k, p)`: an index range scan whatever the depth. `ordering` is `(key, pk)` or
    `(pk,)`, both in the same direction; the last field must be the primary key (by any name)
    and the key a non-null column of the model. Pages are plain data (`KeysetPage`) with opaque
    cursor tokens, so a first page can be cached and its links rebuilt for each request.
    """

    ordering: tuple[str, ...] = ("-pk",)

    @staticmethod
    def parse_key(raw: str):
        return int(raw)

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
            return str(row.pk)
        return f"{self.format_key(getattr(row, self._key))}|{row.pk}"

    def _parse_position(self, position: str):
        try:
            if self._key is None:
                return None, int(position)
            key, _, row_id = position.rpartition("|")
            return self.parse_key(key), int(row_id)
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise InvalidCursor() from exc

    @staticmethod
    def encode_token(*, reverse: bool, position: str) -> str:
        tokens = {"p": position, **({"r": "1"} if reverse else {})}
        return b64encode(parse.urlencode(tokens).encode()).decode("ascii")

    def decode_token(self, token: str):
        try:
            tokens = parse.parse_qs(b64decode(token.encode("ascii"), validate=True).decode("ascii"))
            reverse = tokens.get("r", ["0"])[0] == "1"
            position = tokens["p"][0]
        except (ValueError, KeyError, UnicodeError) as exc:
            raise InvalidCursor() from exc
        return reverse, self._parse_position(position)

    def _beyond(self, queryset: QuerySet, key, row_id, *, forward: bool) -> QuerySet:
        op = "lt" if self._descending == forward else "gt"
        if self._key is None:
            return queryset.filter(**{f"pk__{op}": row_id})
        # A row-value comparison, (key, pk) < (k, p): PostgreSQL (and SQLite) start an index range
        # scan right at the boundary row, so a page costs the same at any depth.
        meta = queryset.model._meta
        field = meta.get_field(self._key)
        db = connections[queryset.db]
        value = field.get_db_prep_value(key, connection=db, prepared=False)
        table = db.ops.quote_name(meta.db_table)
        column, pk = db.ops.quote_name(field.column), db.ops.quote_name(meta.pk.column)
        sql = f"({table}.{column}, {table}.{pk}) {'<' if op == 'lt' else '>'} (%s, %s)"
        return queryset.filter(RawSQL(sql, [value, row_id], output_field=BooleanField()))

    def page(self, queryset: QuerySet, *, cursor: str | None, page_size: int) -> KeysetPage:
        """One page of `queryset` after (or, for a reverse token, before) the cursor.
        Raises InvalidCursor."""
        reverse, position = self.decode_token(cursor) if cursor else (False, None)
        if position is not None:
            queryset = self._beyond(queryset, *position, forward=not reverse)
        ordering = self.ordering
        if reverse:
            ordering = tuple(field[1:] if field.startswith("-") else f"-{field}" for field in ordering)
        try:
            rows = list(queryset.order_by(*ordering)[: page_size + 1])
        except (DjangoValidationError, ValueError, TypeError, OverflowError) as exc:
            raise InvalidCursor() from exc  # a forged position the key column cannot take
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

    def cursor(self, request) -> str | None:
        return request.query_params.get(self.cursor_query_param) or None

    @staticmethod
    def link(request, token: str | None) -> str | None:
        if token is None:
            return None
        return replace_query_param(request.build_absolute_uri(), "cursor", token)

    def first_page_data(self, queryset: QuerySet, *, page_size: int, serializer_class) -> dict:
        """A first page as plain data a cache can hold: `{"results": [...], "next": token | None}`."""
        page = self.page(queryset, cursor=None, page_size=page_size)
        return {"results": serializer_class(page.rows, many=True).data, "next": page.next}

    def respond(self, request, *, queryset: QuerySet, serializer_class, cached_first_page=None) -> dict:
        """The list envelope `{results, next, previous}` for this request, links included.

        Without a cursor, `cached_first_page(page_size)` (if given) supplies the first page as
        `first_page_data` built it, typically through the cache; otherwise `queryset` is paged.
        Raises InvalidCursor, ValidationError (page_size)."""
        page_size, cursor = self.get_page_size(request), self.cursor(request)
        if cursor is None and cached_first_page is not None:
            data = cached_first_page(page_size)
            results, next_token, previous_token = data["results"], data["next"], None
        else:
            page = self.page(queryset, cursor=cursor, page_size=page_size)
            results = serializer_class(page.rows, many=True).data
            next_token, previous_token = page.next, page.previous
        return envelope(
            results, next_url=self.link(request, next_token), previous_url=self.link(request, previous_token)
        )
