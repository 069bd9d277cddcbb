"""Keyset (cursor) pagination for every list; OFFSET pagination does not exist here."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import pagination
from rest_framework.exceptions import ValidationError

from wemaster.core.errors import DomainError


class InvalidCursor(DomainError):
    code = "invalid_cursor"
    default_detail = "The cursor is invalid or expired."


class CursorPagination(pagination.CursorPagination):
    """Newest first by id (ids grow with time and are unique, so the cursor is stable).

    `?page_size=` is capped at `max_page_size`; a malformed cursor is a 400, not DRF's 404.
    """

    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 100

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
        raw = request.query_params.get(self.page_size_query_param)
        if raw is not None and not (raw.isascii() and raw.isdigit() and int(raw) > 0):
            raise ValidationError({self.page_size_query_param: ["A positive integer is required."]})
        return super().get_page_size(request)
