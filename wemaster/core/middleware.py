"""Request guards that answer with the error envelope before a view runs."""

from django.conf import settings

from wemaster.core.errors import error_body
from wemaster.core.parsers import unstorable_text


class RequestGuardMiddleware:
    """413 `request_too_large` for a declared body over DATA_UPLOAD_MAX_MEMORY_SIZE (DRF's parsers
    read the stream directly, so Django's own limit would not apply to JSON), and 400
    `invalid_query` for query strings PostgreSQL could not compare (NUL, lone surrogates)."""

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
        if any(unstorable_text(key) or unstorable_text(value) for key, value in request.GET.items()):
            return JsonResponse(
                error_body("invalid_query", "The query string may not contain NUL characters."), status=400
            )
        return self.get_response(request)
