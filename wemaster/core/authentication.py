"""Token authentication: django-rest-knox device tokens, looked up through the platform cache.

Every API request authenticates, so the lookup sits on the hot path of every endpoint. A token
is stored only as its SHA-512 digest (knox); the digest is also the cache key, so neither the
database nor Redis ever holds a usable token. Per request:

1. The token's shape is checked before anything else: knox's prefix and hex digits of its
   length (or a migrated DRF key, `LEGACY_TOKEN_LENGTH`). Anything else is refused with no cache
   read or write and no query, so a bogus header, however large, costs nothing but the check.
2. The identity behind the digest (user fields, token id, expiry, last use) comes from
   `get_or_compute`, memory level first; a warm request makes no query. A well-formed token
   that matches no row is remembered under its digest for `AUTH_TOKEN_NEGATIVE_CACHE_TTL`.
3. The expiry is compared with the clock on every request, cached or not.
4. The expiry slides: once `REST_KNOX["MIN_REFRESH_INTERVAL"]` has passed since the token's last
   recorded use, one request (a Redis `add` elects it among processes) writes the new expiry and
   `last_used`; every other request writes nothing.

A saved user or a saved or deleted token drops the cached identity on commit (`signals.py`).
Authentication reads the primary (a replica may not know a token just created, or still
know a user just deactivated), cached or not; session authentication too. Both name the
request's user for read-your-writes (`db_router.scope_user`).
"""

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.cache import caches
from django.db.models import Q
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.models import get_token_model
from knox.settings import knox_settings
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import AuthenticationFailed

from wemaster.core.cache import get_or_compute, invalidate_tags
from wemaster.core.db_router import reading_primary, scope_user
from wemaster.core.revocation import token_key_of

IDENTITY_FIELDS = ("id", "email", "role", "display_name", "is_active", "is_staff", "is_superuser")
# Keys of DRF's authtoken, carried over as they were when tokens moved to knox (accounts
# migration 0003): 40 hex digits, hashed and expiring like every knox token.
LEGACY_TOKEN_LENGTH = 40
_HEX = re.compile(r"[0-9a-f]+")
# 16**4 = 65,536 tag buckets: at most that many tag keys, whatever the number of tokens.
TOKEN_TAG_BUCKET_DIGITS = 4
_NEGATIVE_PREFIX = "auth:token-unknown:"
_SLIDE_PREFIX = "auth:token-slide:"


@dataclass(frozen=True, slots=True)
class TokenInUse:
    """`request.auth` of a token-authenticated request: which token it is (not read from the
    database; building a model instance here would cost more than the cached lookup)."""

    id: int
    token_key: str
    user_id: int

    @property
    def pk(self) -> int:
        return self.id


class UnknownToken(Exception):
    """No token row has this digest (raised inside the cache's compute so nothing is cached)."""


def token_tag(digest: str) -> str:
    """The invalidation tag of the cached identity behind `digest`: one per bucket of digests
    (`TOKEN_TAG_BUCKETS`), not per token. Tag versions are kept in Redis without expiry, so a
    tag per token would leave a key behind for every token ever revoked; a revocation instead
    makes the few other cached tokens of its bucket read their row again."""
    return f"auth:tokens:{digest[:TOKEN_TAG_BUCKET_DIGITS]}"


def well_formed(raw: str) -> bool:
    """Whether `raw` has the shape of a token this service issued (checked before any lookup)."""
    prefix = knox_settings.TOKEN_PREFIX
    if len(raw) == len(prefix) + knox_settings.AUTH_TOKEN_CHARACTER_LENGTH and raw.startswith(prefix):
        digits = raw[len(prefix) :]
    elif len(raw) == LEGACY_TOKEN_LENGTH:
        digits = raw
    else:
        return False
    return _HEX.fullmatch(digits) is not None


def _max_length() -> int:
    return max(len(knox_settings.TOKEN_PREFIX) + knox_settings.AUTH_TOKEN_CHARACTER_LENGTH, LEGACY_TOKEN_LENGTH)


def _timestamp(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def _identity(digest: str) -> dict:
    """The cached value behind a digest. Raises UnknownToken (remembering it for a short while)
    when no row has it; a token created later has a fresh random digest, so the memory of a
    miss can never hide one."""
    remember_misses = settings.CACHES_ENABLED
    cache = caches["default"]
    if remember_misses and cache.get(_NEGATIVE_PREFIX + digest) is not None:
        raise UnknownToken
    row = (
        get_token_model()
        .objects.filter(digest=digest)
        .values("id", "created", "expiry", "last_used", *(f"user__{name}" for name in IDENTITY_FIELDS))
        .first()
    )
    if row is None:
        if remember_misses:
            cache.set(_NEGATIVE_PREFIX + digest, 1, timeout=settings.AUTH_TOKEN_NEGATIVE_CACHE_TTL)
        raise UnknownToken
    return {
        "user": {name: row[f"user__{name}"] for name in IDENTITY_FIELDS},
        "token": row["id"],
        "created": _timestamp(row["created"]),
        "expiry": _timestamp(row["expiry"]),
        "used": _timestamp(row["last_used"]),
    }


def _slide(identity: dict, digest: str, now: float) -> None:
    """Move the token's expiry (and `last_used`) forward, at most once per refresh interval
    across every process. Precondition: the token is live."""
    interval = knox_settings.MIN_REFRESH_INTERVAL
    if not knox_settings.AUTO_REFRESH or identity["expiry"] is None or now - (identity["used"] or 0) < interval:
        return
    if not caches["default"].add(_SLIDE_PREFIX + digest, 1, timeout=interval):
        return  # another request of this token slides it (or Redis is down: the expiry waits)
    used = datetime.fromtimestamp(now, tz=UTC)
    expiry = used + knox_settings.TOKEN_TTL
    if knox_settings.AUTO_REFRESH_MAX_TTL is not None:
        expiry = min(expiry, datetime.fromtimestamp(identity["created"], tz=UTC) + knox_settings.AUTO_REFRESH_MAX_TTL)
    not_slid_yet = Q(last_used__isnull=True) | Q(last_used__lt=used - timedelta(seconds=interval))
    get_token_model().objects.filter(not_slid_yet, pk=identity["token"]).update(expiry=expiry, last_used=used)
    invalidate_tags(token_tag(digest))


def _user(fields: dict):
    model = get_user_model()
    # from_db takes the loaded values in the model's field order; the rest stay deferred.
    names = [field.attname for field in model._meta.concrete_fields if field.attname in fields]
    return model.from_db("default", names, [fields[name] for name in names])


def authenticate_token(raw: str) -> tuple[AbstractBaseUser, TokenInUse] | None:
    """(user, token in use) for a live token of an active user, else None."""
    if not well_formed(raw):
        return None
    digest = hash_token(raw)
    try:
        with reading_primary():
            identity = get_or_compute(
                f"auth:token:{digest}",
                lambda: _identity(digest),
                tags=[token_tag(digest)],
                ttl=settings.AUTH_TOKEN_CACHE_TTL,
                family="auth_token",
                local=True,
            )
    except UnknownToken:
        return None
    now = time.time()
    if (identity["expiry"] is not None and identity["expiry"] <= now) or not identity["user"]["is_active"]:
        return None
    _slide(identity, digest, now)
    user = _user(identity["user"])
    return user, TokenInUse(id=identity["token"], token_key=token_key_of(raw), user_id=user.id)


def user_for_token(key: str):
    """The active user owning the live token `key`, or None (malformed keys cost no lookup)."""
    found = authenticate_token(key)
    return found[0] if found is not None else None


def invalidate_user_tokens(user_id: int) -> None:
    """On commit, drop the cached identity behind each of the user's tokens."""
    digests = get_token_model().objects.filter(user_id=user_id).values_list("digest", flat=True)
    invalidate_tags(*(token_tag(digest) for digest in digests))


class CachedTokenAuthentication(TokenAuthentication):
    """knox's header handling (`Authorization: Token <token>`) on the cached lookup above;
    `request.auth` is the token in use."""

    def authenticate_credentials(self, token: bytes):
        found = None
        if len(token) <= _max_length() and token.isascii():
            found = authenticate_token(token.decode("ascii"))
        if found is None:
            raise AuthenticationFailed("Invalid token.")
        scope_user(found[0].id)
        return found


class PrimarySessionAuthentication(SessionAuthentication):
    """DRF's session authentication with the session and its user read from the primary (a
    staff member who just logged in is not logged out by a lagging replica)."""

    def authenticate(self, request):
        with reading_primary():
            found = super().authenticate(request)
        if found is not None:
            scope_user(found[0].id)
        return found
