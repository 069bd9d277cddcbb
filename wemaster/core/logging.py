"""Structured logs (docs/OPERATIONS.md, Logs): one JSON object per line, or a readable console line in
development, for structlog's loggers and the standard library's alike.

Every line carries the ids bound to the context it was written in: a request's `request_id` and
`user_id` (django-structlog's middleware, with the receivers below), the same ids in the Celery
tasks the request enqueued (django-structlog's Celery integration) and in a websocket consumer
(`bind_websocket`). A request writes exactly one line, `request_finished` (or `request_failed` with
the traceback), with its method, path (never the query string: `?token=` may be there), view,
status and duration. Secrets never reach a line: `redact` masks the values of keys that name
one and scrubs the patterns that carry one in free text.
"""

import re
import time
import uuid
from collections.abc import Mapping

import orjson
import structlog
from django.utils.functional import SimpleLazyObject, empty

REQUEST_ID_HEADER = "X-Request-ID"
# An incoming request id is kept only if it is this short and plain; anything else is replaced.
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

REDACTED = "[redacted]"
# Keys whose values are secrets, wherever they appear in a line (nested dicts included).
_SECRET_KEY = re.compile(
    r"pass(word|wd)?|secret|token|authori[sz]ation|cookie|card|cvc|cvv|csrf|session_?id|api_?key", re.I
)
# Secrets inside free text: credentials in URLs, `token=...`-style parameters, auth headers.
_SECRET_TEXT = (
    (re.compile(r"(?<=://)([^/@\s:]*):[^/@\s]*@"), rf"\1:{REDACTED}@"),
    (
        re.compile(r"\b((?:[a-z_]*token|password|passwd|secret|api_?key|key)=)[^&\s;,'\"]+", re.I),
        rf"\1{REDACTED}",
    ),
    (re.compile(r"\b(Token|Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}"), rf"\1 {REDACTED}"),
)
_REQUEST_STARTED = "request_started"


def request_id_from(value: str | None) -> str:
    """The incoming request id if it is safe to log and echo, else a new one."""
    if value and _SAFE_REQUEST_ID.fullmatch(value):
        return value
    return str(uuid.uuid4())


def _scrub(text: str) -> str:
    for pattern, replacement in _SECRET_TEXT:
        text = pattern.sub(replacement, text)
    return text


def _redacted(value):
    if isinstance(value, str):
        return _scrub(value)
    if isinstance(value, Mapping):
        return {key: REDACTED if _SECRET_KEY.search(str(key)) else _redacted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_redacted(item) for item in value]
    if isinstance(value, tuple):  # an `exc_info` stays a tuple for the renderer
        return tuple(_redacted(item) for item in value)
    return value


def redact(logger, method_name, event_dict):
    """Masks the value of every key that names a secret and scrubs secrets out of text (the event,
    exception messages, tracebacks). Runs last before rendering, on every line."""
    return _redacted(event_dict)


def drop_request_started(logger, method_name, event_dict):
    """django-structlog writes a line when a request starts and one when it ends: only the end one
    is kept (it has everything the start had, and the outcome)."""
    if event_dict.get("event") == _REQUEST_STARTED:
        raise structlog.DropEvent
    return event_dict


def _drop_message_copy(logger, method_name, event_dict):
    """A standard-library record's `message` attribute repeats its event (ExtraAdder copies it)."""
    event_dict.pop("message", None)
    return event_dict


def _json(event_dict, **kwargs) -> str:
    return orjson.dumps(event_dict, default=str).decode()


_TIMESTAMP = structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts")
_SHARED = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    _TIMESTAMP,
]


def logging_config(*, log_format: str, level: str) -> dict:
    """The `LOGGING` dict: one handler on standard error whose formatter renders structlog's lines
    and the standard library's records the same way. Django's own request lines (`django.request`,
    runserver's `django.server` and daphne's `django.channels.server`, which would print the
    query string) are not written: the request line is django-structlog's; nor is Celery's own
    line per successful task."""
    renderer = structlog.dev.ConsoleRenderer() if log_format == "console" else structlog.processors.JSONRenderer(_json)
    final = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if log_format != "console":
        final.append(structlog.processors.dict_tracebacks)
    final += [redact, renderer]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": final,
                "foreign_pre_chain": [*_SHARED, structlog.stdlib.ExtraAdder(), _drop_message_copy],
            }
        },
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "structured"},
            "null": {"class": "logging.NullHandler"},
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "INFO"},
            # Celery's own "Task ... succeeded" line repeats django-structlog's task_succeeded.
            "celery.app.trace": {"level": "WARNING"},
            **{
                name: {"handlers": ["null"], "propagate": False}
                for name in ("django.request", "django.server", "django.channels.server")
            },
        },
    }


def configure_structlog() -> None:
    """structlog's loggers hand their lines to the standard library, whose handler renders them."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_SHARED,
            drop_request_started,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


# --- requests (django-structlog's middleware signals) ----------------------------------------------


def _user_id(request) -> int | None:
    """The user the request was served as, without loading one nobody asked for (an unevaluated
    session user would cost a query)."""
    user = getattr(request, "user", None)
    if user is None or (isinstance(user, SimpleLazyObject) and user._wrapped is empty):
        return None
    return user.pk if user.is_authenticated else None


def _request_fields(request, status: int) -> dict:
    match = getattr(request, "resolver_match", None)
    started = getattr(request, "log_started_at", None)
    return {
        "method": request.method,
        "path": request.path,
        "view": match.view_name if match is not None else None,
        "status": status,
        "duration_ms": round((time.monotonic() - started) * 1000, 1) if started is not None else None,
    }


def request_log_started(sender, request, logger, log_kwargs, **kwargs):
    """Binds the request id (the client's X-Request-ID if safe, else a new one) for every line the
    request writes, and starts its clock."""
    request.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
    request.log_started_at = time.monotonic()
    structlog.contextvars.bind_contextvars(request_id=request.request_id)


def request_log_finished(sender, request, logger, response, log_kwargs, **kwargs):
    """The one request line's fields; the request id is echoed to the client."""
    log_kwargs.clear()
    log_kwargs.update(_request_fields(request, response.status_code), user_id=_user_id(request))
    _echo_request_id(request, response)


def request_log_failed(sender, request, logger, exception, log_kwargs, **kwargs):
    """An unhandled exception: the request's one line is `request_failed`, with the traceback."""
    log_kwargs.clear()
    log_kwargs.update(_request_fields(request, 500), user_id=_user_id(request))


def request_failure_response(sender, request, response, logger, exception, **kwargs):
    _echo_request_id(request, response)


def _echo_request_id(request, response) -> None:
    request_id = getattr(request, "request_id", None)
    if request_id is not None:
        response[REQUEST_ID_HEADER] = request_id


def connect_request_logging() -> None:
    from django_structlog import signals

    signals.bind_extra_request_metadata.connect(request_log_started, dispatch_uid="wemaster.core.logging")
    signals.bind_extra_request_finished_metadata.connect(request_log_finished, dispatch_uid="wemaster.core.logging")
    signals.bind_extra_request_failed_metadata.connect(request_log_failed, dispatch_uid="wemaster.core.logging")
    signals.update_failure_response.connect(request_failure_response, dispatch_uid="wemaster.core.logging")


# --- websockets ---------------------------------------------------------------------------------


def bind_websocket(scope, *, user_id: int | None) -> str:
    """Binds a websocket's request id (the handshake's X-Request-ID if safe, else a new one) and
    user for every line its consumer writes; returns the id, for the handshake's answer."""
    headers = dict(scope.get("headers") or ())
    raw = headers.get(REQUEST_ID_HEADER.lower().encode())
    request_id = request_id_from(raw.decode("latin-1") if raw else None)
    structlog.contextvars.bind_contextvars(request_id=request_id, user_id=user_id)
    return request_id
