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
from base64 import b64decode
from datetime import datetime, timedelta
from urllib import parse

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

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
