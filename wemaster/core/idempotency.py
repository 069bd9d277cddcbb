"""`Idempotency-Key` for money-moving POSTs (docs/API.md, Conventions: Idempotency-Key).

Same user + key + endpoint + body: the first response is replayed with
`Idempotent-Replayed: true` and the effect happens once. Another body or endpoint:
422 `idempotency_key_reused`. While the first request still runs: 409
`idempotency_key_in_use`. The key row is written in the same transaction as the
effect, so it exists exactly when the effect committed (and a lock conflict retries both).
Validation errors (400) and 5xx store nothing, so the client can fix or retry them; other
4xx are replayed.
"""

import hashlib
import json
from contextlib import contextmanager
from functools import wraps

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from wemaster.core.errors import Conflict, DomainError, error_response
from wemaster.core.models import IdempotencyKey
from wemaster.ledger.locks import retry_on_lock_conflict

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was used with another request body or endpoint."


class IdempotencyKeyInUse(Conflict):
    code = "idempotency_key_in_use"
    default_detail = "A request with this Idempotency-Key is still being processed."


def _endpoint(request, kwargs) -> str:
    route = request.resolver_match.view_name if request.resolver_match else request.path
    args = ",".join(f"{k}={v}" for k, v in sorted(kwargs.items()))
    return f"{request.method} {route} {args}".strip()[:200]


def _body_hash(request) -> str:
    try:
        canonical = orjson.dumps(request.data, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        # orjson refuses what JSON allows but it cannot hold (integers beyond 64 bits): such a
        # body is still hashed, deterministically, and then refused by validation, not a 500.
        canonical = json.dumps(request.data, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(canonical).hexdigest()


def _lock_id(user_id: int, key: str) -> list:
    return [user_id % 2**31, key]


def _claim(user_id: int, key: str) -> None:
    """Serialize requests sharing a key. PostgreSQL: a transaction-level advisory lock tried
    without waiting (a second concurrent request gets 409). SQLite serializes writers anyway."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, hashtext(%s))", _lock_id(user_id, key))
        (acquired,) = cursor.fetchone()
    if not acquired:
        raise IdempotencyKeyInUse()


@contextmanager
def _claimed_outside_transaction(user_id: int, key: str):
    """The same claim for a request that runs no transaction of its own: a session-level advisory
    lock, released when the request is done (or its connection closes, if the process dies)."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))", _lock_id(user_id, key))
        (acquired,) = cursor.fetchone()
    if not acquired:
        raise IdempotencyKeyInUse()
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", _lock_id(user_id, key))


def _replay(stored: IdempotencyKey, endpoint: str, body_hash: str) -> Response:
    if (stored.endpoint, stored.request_hash) != (endpoint, body_hash):
        raise IdempotencyKeyReused()
    return Response(stored.response_body, status=stored.response_status, headers={REPLAYED_HEADER: "true"})


def _worth_storing(response) -> bool:
    """Final answers only: a 202 (the provider's outcome not known yet) and a 409 `lock_conflict`
    (retries exhausted) are not final, so a retry with the key runs again."""
    if response.status_code >= 500 or response.status_code == 202 or _is_validation_error(response):
        return False
    return not (isinstance(response.data, dict) and response.data.get("code") == "lock_conflict")


def idempotent(view_method=None, *, atomic: bool = True):
    """Decorate a DRF view method (post) that moves money. Without the header it runs as is.

    `atomic=True`: the view's effect and the key row commit in one transaction, so the key
    exists exactly when the effect does. `atomic=False` is for views that call the payment
    provider, which must never happen inside a transaction: the view's service then has its own
    durable idempotency (an intent row unique per key), and the key row is only the stored reply.
    """
    if view_method is None:
        return lambda method: idempotent(method, atomic=atomic)

    @wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return view_method(self, request, *args, **kwargs)
        if not 1 <= len(key) <= 255:
            raise ValidationError({HEADER: ["Must be 1 to 255 characters."]})
        endpoint, body_hash = _endpoint(request, kwargs), _body_hash(request)
        if not atomic:
            with _claimed_outside_transaction(request.user.id, key):
                stored = IdempotencyKey.objects.filter(user=request.user, key=key).first()
                if stored is not None:
                    return _replay(stored, endpoint, body_hash)
                try:
                    response = view_method(self, request, *args, **kwargs)
                except DomainError as exc:
                    response = error_response(exc)
                if _worth_storing(response):
                    _store(request, key, endpoint, body_hash, response)
                return response
        return _idempotent_request(
            view_method, self, request, args, kwargs, key=key, endpoint=endpoint, body_hash=body_hash
        )

    return wrapper


@retry_on_lock_conflict
@transaction.atomic
def _idempotent_request(
    view_method, view, request, args, kwargs, *, key: str, endpoint: str, body_hash: str
) -> Response:
    """The key's transaction, which is also the outermost transaction of the view's service: a lock
    conflict aborts both together, so this level is the one that retries them (the service's own
    retry only applies when it runs outside any transaction)."""
    _claim(request.user.id, key)
    stored = IdempotencyKey.objects.filter(user=request.user, key=key).first()
    if stored is not None:
        return _replay(stored, endpoint, body_hash)
    try:
        with transaction.atomic():
            response = view_method(view, request, *args, **kwargs)
    except DomainError as exc:
        response = error_response(exc)
    if _worth_storing(response):
        _store(request, key, endpoint, body_hash, response)
    return response


def _store(request, key: str, endpoint: str, body_hash: str, response) -> None:
    """Keep the first final response for the key (a concurrent twin's identical row is kept)."""
    IdempotencyKey.objects.get_or_create(
        user=request.user,
        key=key,
        defaults={
            "endpoint": endpoint,
            "request_hash": body_hash,
            "response_status": response.status_code,
            "response_body": response.data,
        },
    )


def _is_validation_error(response) -> bool:
    return (
        response.status_code == 400
        and isinstance(response.data, dict)
        and response.data.get("code") == ("validation_error")
    )


def idempotency_keys_prune(*, now=None) -> int:
    """Delete keys older than IDEMPOTENCY_KEY_TTL_HOURS (at least 24 h). Returns how many."""
    cutoff = (now or timezone.now()) - timezone.timedelta(hours=max(24, settings.IDEMPOTENCY_KEY_TTL_HOURS))
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
