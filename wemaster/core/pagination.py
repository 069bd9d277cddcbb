"""Keyset (cursor) pagination for every list; OFFSET pagination does not exist here.

Every list answers the one envelope `{"results": [...], "next": url|null, "previous": url|null}`
(`envelope`), and every page size parameter (`page_size`, and `limit` on message history) is read
by `page_size_from`: a positive integer, clamped to `MAX_PAGE_SIZE`; anything else is a 400
naming the parameter.

A cursor is opaque to clients but not trusted from them: its encoding, its keys and the
position inside it are checked before any of it reaches a query, so a forged cursor is a 400
`invalid_cursor`, never a database error (a time zone PostgreSQL cannot take, an integer past
bigint, a negative id).
"""

import binascii
import math
from base64 import b64decode, b64encode
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib import parse

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connections, models
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL
from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from wemaster.core.errors import DomainError

# Cursors the server makes are a few dozen characters; anything much longer is forged.
MAX_CURSOR_LENGTH = 512
# More digits than any page size needs: clamped without parsing (int() refuses over 4300 digits).
MAX_PAGE_SIZE_DIGITS = 6
BIGINT_MAX = 2**63 - 1


class InvalidCursor(DomainError):
    code = "invalid_cursor"
    default_detail = "The cursor is invalid or expired."


def cursor_tokens(raw: str, *, allowed: frozenset[str]) -> dict[str, str]:
    """The `key=value` tokens of a cursor (base64 of a query string), each key at most once and
    among `allowed`. Raises InvalidCursor for anything a server-made cursor cannot be."""
    if not raw or len(raw) > MAX_CURSOR_LENGTH:
        raise InvalidCursor()
    try:
        text = b64decode(raw.encode("ascii"), validate=True).decode("ascii")
        pairs = parse.parse_qsl(text, keep_blank_values=True, strict_parsing=True)
    except (ValueError, UnicodeError, binascii.Error) as exc:
        raise InvalidCursor() from exc
    tokens = dict(pairs)
    if len(tokens) != len(pairs) or not tokens.keys() <= allowed:
        raise InvalidCursor()
    return tokens


def cursor_int(raw: str, *, low: int = 0, high: int = BIGINT_MAX) -> int:
    """A decimal integer of a cursor within [low, high]: digits only, no sign, no spaces."""
    if not (raw.isascii() and raw.isdigit() and len(raw) <= len(str(high))):
        raise InvalidCursor()
    value = int(raw)
    if not low <= value <= high:
        raise InvalidCursor()
    return value


def cursor_datetime(raw: str) -> datetime:
    """An ISO-8601 time of a cursor. The server writes them in UTC: any other offset (or none) was
    not made here, and one such as -23:59 is more than PostgreSQL accepts (±15:59)."""
    try:
        value = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise InvalidCursor() from exc
    if value.utcoffset() != timedelta(0):
        raise InvalidCursor()
    return value


def cursor_float(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError as exc:
        raise InvalidCursor() from exc
    if not math.isfinite(value):
        raise InvalidCursor()
    return value


def _ordering_field(queryset, name: str):
    """The model field (or annotation's output field) a list is ordered by, if it has one."""
    try:
        return queryset.model._meta.get_field(name)
    except FieldDoesNotExist:
        annotation = queryset.query.annotations.get(name)
        return getattr(annotation, "output_field", None)


PAGE_SIZE_DESCRIPTION = "Items per page, 1-{max}; a larger value is clamped to {max}."


def page_size_from(request, param: str = "page_size", *, default: int) -> int:
    """`param` of the query string as a page size: `default` when absent, at most
    `settings.MAX_PAGE_SIZE` (a larger value is clamped, the same on every list). Raises a
    ValidationError (400) naming `param` for anything but a positive integer."""
    raw = request.query_params.get(param)
    if raw is None:
        return min(default, settings.MAX_PAGE_SIZE)
    digits = raw.lstrip("0")
    if not (raw.isascii() and raw.isdigit() and digits):
        raise ValidationError({param: ["A positive integer is required."]}, code="invalid")
    if len(digits) > MAX_PAGE_SIZE_DIGITS:
        return settings.MAX_PAGE_SIZE
    return min(int(digits), settings.MAX_PAGE_SIZE)


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
        raw = request.query_params.get(self.cursor_query_param)
        if raw is None:
            return None
        tokens = cursor_tokens(raw, allowed=frozenset({"o", "r", "p"}))
        if tokens.get("r", "0") not in ("0", "1"):
            raise InvalidCursor()
        position = tokens.get("p")
        return pagination.Cursor(
            offset=cursor_int(tokens.get("o", "0"), high=self.offset_cutoff),
            reverse=tokens.get("r") == "1",
            position=None if position is None else self._checked_position(position),
        )

    def _checked_position(self, position: str) -> str:
        """The position in the form DRF compares with the ordering field: integers within bigint
        and not negative, times in UTC."""
        queryset = getattr(self, "_queryset", None)
        field = _ordering_field(queryset, self.ordering[0].lstrip("-")) if queryset is not None else None
        if isinstance(field, models.DateTimeField):
            return str(cursor_datetime(position))
        if isinstance(field, models.IntegerField):
            return str(cursor_int(position))
        if field is not None:
            try:
                field.to_python(position)
            except DjangoValidationError as exc:
                raise InvalidCursor() from exc
        return position

    def paginate_queryset(self, queryset, request, view=None):
        self._queryset = queryset  # `decode_cursor` checks the position against its ordering field
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
            return str(row.pk)
        return f"{self.format_key(getattr(row, self._key))}|{row.pk}"

    def _parse_position(self, position: str):
        try:
            if self._key is None:
                return None, cursor_int(position, low=1)
            key, separator, row_id = position.rpartition("|")
            if not separator:
                raise InvalidCursor()
            return self.parse_key(key), cursor_int(row_id, low=1)
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise InvalidCursor() from exc

    @staticmethod
    def encode_token(*, reverse: bool, position: str) -> str:
        tokens = {"p": position, **({"r": "1"} if reverse else {})}
        return b64encode(parse.urlencode(tokens).encode()).decode("ascii")

    def decode_token(self, token: str):
        """(reverse, (key, pk)) of a token this paginator made; anything else is InvalidCursor."""
        tokens = cursor_tokens(token, allowed=frozenset({"p", "r"}))
        if "p" not in tokens or tokens.get("r", "1") != "1":
            raise InvalidCursor()
        return "r" in tokens, self._parse_position(tokens["p"])

    def _ordering(self, *, reverse: bool) -> tuple[str, ...]:
        if not reverse:
            return self.ordering
        return tuple(field[1:] if field.startswith("-") else f"-{field}" for field in self.ordering)

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

    def page(self, queryset: QuerySet, *, cursor: str | None, page_size: int, fetch=None) -> KeysetPage:
        """One page of `queryset` after (or, for a reverse token, before) the cursor. `fetch`,
        if given, reads the rows instead of a plain ORDER BY ... LIMIT:
        `fetch(queryset, ordering=..., limit=...) -> list` (the community's full-text search does).
        Raises InvalidCursor."""
        reverse, position = self.decode_token(cursor) if cursor else (False, None)
        if position is not None:
            queryset = self._beyond(queryset, *position, forward=not reverse)
        ordering = self._ordering(reverse=reverse)
        try:
            if fetch is None:
                rows = list(queryset.order_by(*ordering)[: page_size + 1])
            else:
                rows = fetch(queryset, ordering=ordering, limit=page_size + 1)
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

    def scan_page(
        self, queryset: QuerySet, *, cursor: str | None, page_size: int, keep, batch_size: int, scan_limit: int
    ) -> KeysetPage:
        """A page of the rows of `queryset` that `keep` accepts, for a filter SQL cannot apply:
        the rows are read in order, `batch_size` at a time, and `keep(batch) -> set of pks` tests
        a whole batch at once. The walk stops when the page is full or after `scan_limit` rows;
        then `next` continues from the last row it consumed, so no row is skipped or repeated,
        and a page stopped by the limit may hold fewer rows than asked (even none) with a `next`.
        Reverse tokens walk back the same way. Costs two statements per batch at most, whatever
        the batch holds. Raises InvalidCursor."""
        reverse, position = self.decode_token(cursor) if cursor else (False, None)
        ordering = self._ordering(reverse=reverse)
        kept: list = []
        scanned: list = []
        boundary, exhausted = position, False
        while len(kept) < page_size and len(scanned) < scan_limit:
            take = min(batch_size, scan_limit - len(scanned))
            rest = queryset if boundary is None else self._beyond(queryset, *boundary, forward=not reverse)
            try:
                batch = list(rest.order_by(*ordering)[:take])
            except (DjangoValidationError, ValueError, TypeError, OverflowError) as exc:
                raise InvalidCursor() from exc  # a forged position the key column cannot take
            accepted = keep(batch) if batch else set()
            consumed = 0
            for row in batch:
                consumed += 1
                scanned.append(row)
                if row.pk in accepted:
                    kept.append(row)
                    if len(kept) == page_size:
                        break
            if len(batch) < take and not any(row.pk in accepted for row in batch[consumed:]):
                exhausted = True  # every remaining row was read, and no other one would be kept
                break
            last = scanned[-1]
            boundary = (getattr(last, self._key) if self._key else None, last.pk)
        onward = None if exhausted or not scanned else self._position(scanned[-1])
        near = kept[0] if kept else (scanned[0] if scanned else None)
        back = self._position(near) if position is not None and near is not None else None
        if reverse:
            kept.reverse()
            onward, back = back, onward  # the walk went towards the previous pages
        return KeysetPage(
            rows=kept,
            next=self.encode_token(reverse=False, position=onward) if onward else None,
            previous=self.encode_token(reverse=True, position=back) if back else None,
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
