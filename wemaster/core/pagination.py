"""Keyset (cursor) pagination for every list; OFFSET pagination does not exist here.

Every list answers the one envelope `{"results": [...], "next": url|null, "previous": url|null}`
(`envelope`), and every page size parameter (`page_size`, and `limit` on message history) is read
by `page_size_from`: a positive integer, clamped to `MAX_PAGE_SIZE`; anything else is a 400
naming the parameter.
"""

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

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
