"""Request guards that answer with the error envelope before a view runs."""

from django.conf import settings

from wemaster.core.errors import error_body, status_error_body
from wemaster.core.parsers import unstorable_text

API_PREFIX = "/api/"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


class RequestGuardMiddleware:
    """413 `request_too_large` for a declared body over DATA_UPLOAD_MAX_MEMORY_SIZE (DRF's parsers
    read the stream directly, so Django's own limit would not apply to JSON); 415
    `unsupported_media_type` for an API write whose body is not JSON, also on endpoints that
    ignore their body (the API is JSON only); 400 `invalid_query` for query strings PostgreSQL
    could not compare (NUL characters)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.http import JsonResponse

        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is not None and length > limit:
            return JsonResponse(
                error_body("request_too_large", f"The request body is larger than {limit} bytes."), status=413
            )
        if (
            length
            and request.method in WRITE_METHODS
            and request.path.startswith(API_PREFIX)
            and not _is_json(request.META.get("CONTENT_TYPE", ""))
        ):
            return JsonResponse(
                error_body("unsupported_media_type", "The API accepts application/json bodies only."), status=415
            )
        if any(unstorable_text(key) or unstorable_text(value) for key, value in request.GET.items()):
            return JsonResponse(
                error_body("invalid_query", "The query string may not contain NUL characters."), status=400
            )
        return self.get_response(request)


# Headers of an error that still hold once its body is replaced.
_KEPT_ERROR_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


class ApiJsonErrorMiddleware:
    """Every error under /api/ is the JSON envelope, whoever answered it: Django itself answers
    a path no route matches (`/api/v1/lessons/abc`), and with DEBUG on its technical 404 and 500
    pages ignore handler404/handler500. An error response under /api/ that is not JSON is
    replaced by the envelope for its status; the exception was already logged by Django."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.http import JsonResponse

        response = self.get_response(request)
        if (
            response.status_code < 400
            or not request.path.startswith(API_PREFIX)
            or _is_json(response.get("Content-Type", ""))
        ):
            return response
        replacement = JsonResponse(status_error_body(response.status_code), status=response.status_code)
        for header in _KEPT_ERROR_HEADERS:
            if header in response:
                replacement[header] = response[header]
        return replacement
