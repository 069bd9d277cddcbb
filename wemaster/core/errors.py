"""Domain errors and the one DRF exception handler that maps every error to the envelope.

Every 4xx/5xx body is `{"code": ..., "detail": ...}` plus `"fields"` for validation
errors (docs/API.md, Errors). Services raise `DomainError` subclasses with a stable
`code`; views never build error bodies by hand.
"""

import logging
import math
from dataclasses import dataclass
from http import HTTPStatus

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


class DomainError(Exception):
    """A business rule refused the operation. Subclasses fix `code` and `status_code`."""

    code = "domain_error"
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "The operation was refused."

    def __init__(self, detail: str | None = None, *, fields: dict | None = None):
        self.detail = detail or self.default_detail
        self.fields = fields
        super().__init__(self.detail)


class ValidationFailed(DomainError):
    """Input that is well-formed but breaks a rule checked in a service; carries `fields`."""

    code = "validation_error"
    default_detail = "Invalid input."


class NotFound(DomainError):
    code = "not_found"
    status_code = status.HTTP_404_NOT_FOUND
    default_detail = "Not found."


class Conflict(DomainError):
    code = "conflict"
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."


class ServiceUnavailable(DomainError):
    code = "service_unavailable"
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "A backing service is unavailable; try again shortly."


class QueryTimeout(ServiceUnavailable):
    """A statement ran past the deadline of its read path (PUBLIC_READ_STATEMENT_TIMEOUT_MS) and
    PostgreSQL cancelled it: the server is busy or the query too costly; the client may retry."""

    code = "query_timeout"
    default_detail = "The query took too long and was cancelled; try again shortly."


class Throttled(DomainError):
    """A rate limit a service enforces itself (e.g. new tags per user); `wait` seconds until the
    next attempt may pass, sent as `Retry-After`."""

    code = "throttled"
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_detail = "Request was throttled."

    def __init__(self, wait: float, detail: str | None = None):
        self.wait = wait
        super().__init__(detail or f"Request was throttled. Expected available in {math.ceil(wait)} seconds.")


# SQLSTATE of a statement cancelled by `statement_timeout` (query_canceled).
QUERY_CANCELED = "57014"


class LockConflict(Conflict):
    """A transaction that PostgreSQL aborted for a lock conflict, still conflicting after the
    service layer's retries (wemaster.ledger.locks). Nothing was applied; the client may retry."""

    code = "lock_conflict"
    default_detail = "The request collided with concurrent changes and was not applied; retry it."


# PostgreSQL's SQLSTATEs for "this transaction lost a lock conflict": retryable as a whole.
LOCK_CONFLICT_SQLSTATES = {
    "40P01": "deadlock_detected",
    "40001": "serialization_failure",
    "55P03": "lock_not_available",
}


def lock_conflict_sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a lock conflict behind a Django database error (its driver error is the
    `__cause__`), or None for any other error."""
    sqlstate = getattr(exc.__cause__, "sqlstate", None)
    return sqlstate if sqlstate in LOCK_CONFLICT_SQLSTATES else None


class InvalidCredentials(DomainError):
    code = "invalid_credentials"
    default_detail = "Unable to log in with the provided credentials."


# DRF's own exception classes mapped to the project's error codes.
_DRF_CODES = {
    exceptions.ValidationError: "validation_error",
    exceptions.ParseError: "parse_error",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
}


def error_body(code: str, detail: str, fields: dict | None = None) -> dict:
    body = {"code": code, "detail": detail}
    if fields:
        body["fields"] = fields
    return body


def error_response(exc: DomainError) -> Response:
    """The envelope response for a domain error, for views that answer an error without raising
    (e.g. to keep a recorded failed attempt committed)."""
    wait = getattr(exc, "wait", None)
    headers = {"Retry-After": str(math.ceil(wait))} if wait is not None else None
    return Response(error_body(exc.code, exc.detail, exc.fields), status=exc.status_code, headers=headers)


def _drf_code(exc: exceptions.APIException) -> str:
    for cls in type(exc).__mro__:
        if cls in _DRF_CODES:
            return _DRF_CODES[cls]
    codes = exc.get_codes()
    return codes if isinstance(codes, str) else "error"


def _leaf_codes(codes, path: str = ""):
    """(dotted field path, DRF error code) for every leaf of `ValidationError.get_codes()`."""
    if isinstance(codes, dict):
        for name, inner in codes.items():
            yield from _leaf_codes(inner, f"{path}.{name}" if path else str(name))
    elif isinstance(codes, list):
        for inner in codes:
            yield from _leaf_codes(inner, path)
    else:
        yield path, codes


def _validation_body(exc: exceptions.ValidationError, fields: dict) -> dict:
    """`unknown_field` naming the fields when the body's only fault is fields the endpoint does
    not take (wemaster.core.serializers), otherwise `validation_error`."""
    leaves = list(_leaf_codes(exc.get_codes()))
    if leaves and all(code == "unknown_field" for _, code in leaves):
        names = ", ".join(sorted({path for path, _ in leaves}))
        return error_body("unknown_field", f"Unknown fields: {names}.", fields)
    return error_body("validation_error", "Invalid input.", fields)


def api_exception_handler(exc, context):
    """DRF `EXCEPTION_HANDLER`: every error leaves as the project's error envelope."""
    if isinstance(exc, DomainError):
        return error_response(exc)
    if isinstance(exc, OperationalError) and lock_conflict_sqlstate(exc):
        # A lock conflict that reached the view unretried: the database is up, the request collided.
        logger.warning("lock conflict reached the API", extra={"error": str(exc)})
        return error_response(LockConflict())
    if isinstance(exc, OperationalError) and getattr(exc.__cause__, "sqlstate", None) == QUERY_CANCELED:
        logger.warning("statement cancelled by its timeout", extra={"error": str(exc)})
        return error_response(QueryTimeout())
    if isinstance(exc, (OperationalError, InterfaceError)):
        # The database is unreachable: private and money data never fall back to a cache.
        logger.warning("database unavailable", extra={"error": str(exc)})
        unavailable = ServiceUnavailable()
        return Response(error_body(unavailable.code, unavailable.detail), status=unavailable.status_code)
    if isinstance(exc, OverflowError):
        # An integer beyond the database's range (SQLite refuses to bind it; PostgreSQL lookups
        # turn it into an empty result): as a path id no such object exists, elsewhere it is
        # bad input.
        if any(isinstance(value, int) and abs(value) >= 2**63 for value in context.get("kwargs", {}).values()):
            return Response(error_body("not_found", "Not found."), status=status.HTTP_404_NOT_FOUND)
        return Response(error_body("validation_error", "A number is out of range."), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        if isinstance(exc, DatabaseError):
            logger.exception("database error")
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = _validation_body(exc, fields)
    else:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        response.data = error_body(_drf_code(exc), str(detail))
    return response


@dataclass(frozen=True)
class StatusError:
    code: str
    detail: str


# Codes and texts for errors Django answers itself (no route, DEBUG pages, handler404/500).
_STATUS_ERRORS = {
    400: StatusError(code="bad_request", detail="Bad request."),
    401: StatusError(code="not_authenticated", detail="Authentication credentials were not provided."),
    403: StatusError(code="permission_denied", detail="You do not have permission to perform this action."),
    404: StatusError(code="not_found", detail="Not found."),
    405: StatusError(code="method_not_allowed", detail="Method not allowed."),
    413: StatusError(code="request_too_large", detail="The request body is too large."),
    415: StatusError(code="unsupported_media_type", detail="The API accepts application/json bodies only."),
    500: StatusError(code="server_error", detail="Internal server error."),
}


def status_error_body(status_code: int) -> dict:
    """The envelope for a bare HTTP status. A status without its own code answers the generic one
    of its class (`bad_request`, `server_error`) with the status phrase as the detail."""
    error = _STATUS_ERRORS.get(status_code)
    if error is None:
        generic = _STATUS_ERRORS[500 if status_code >= 500 else 400]
        error = StatusError(code=generic.code, detail=f"{HTTPStatus(status_code).phrase}.")
    return error_body(error.code, error.detail)


def json_error_view(status_code: int):
    """Plain Django views for handler400/403/404/500: errors outside DRF keep the envelope."""

    def view(request, exception=None):
        return JsonResponse(status_error_body(status_code), status=status_code)

    return view


handler400 = json_error_view(400)
handler403 = json_error_view(403)
handler404 = json_error_view(404)
handler500 = json_error_view(500)
