"""Request size limits, checked before anything reads a cache or the database.

A 500 KB `Authorization` header must cost no more than reading it: no token lookup, no cache
entry, no session. nginx already refuses a header line longer than its buffer (deploy/nginx.conf);
this middleware holds the same line for requests that reach the workers another way and bounds
the total: header lines (names and values) over REQUEST_MAX_HEADER_BYTES are 431
`request_header_too_large`, a query string over REQUEST_MAX_QUERY_STRING_BYTES is 414
`uri_too_long`. Body sizes are RequestGuardMiddleware's (413, DATA_UPLOAD_MAX_MEMORY_SIZE).
"""

from django.conf import settings
from django.http import JsonResponse

from wemaster.core.errors import error_body

# WSGI/ASGI carry two headers outside the HTTP_ prefix.
_UNPREFIXED_HEADERS = ("CONTENT_TYPE", "CONTENT_LENGTH")


def header_bytes(meta: dict) -> int:
    """Bytes of the request's header lines as received, about: name, ": ", value, CRLF."""
    total = 0
    for key, value in meta.items():
        if key.startswith("HTTP_") or key in _UNPREFIXED_HEADERS:
            total += len(key) - (5 if key.startswith("HTTP_") else 0) + len(str(value)) + 4
    return total


class RequestSizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        header_limit = settings.REQUEST_MAX_HEADER_BYTES
        if header_limit and header_bytes(request.META) > header_limit:
            return JsonResponse(
                error_body("request_header_too_large", f"The request headers exceed {header_limit} bytes."),
                status=431,
            )
        query_limit = settings.REQUEST_MAX_QUERY_STRING_BYTES
        if query_limit and len(request.META.get("QUERY_STRING", "")) > query_limit:
            return JsonResponse(
                error_body("uri_too_long", f"The query string exceeds {query_limit} bytes."), status=414
            )
        return self.get_response(request)
