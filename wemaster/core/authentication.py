"""Token authentication with the token -> user lookup served by the platform cache.

Every API request authenticates, so the lookup sits on the hot path of every endpoint:
the stock `TokenAuthentication` compiles an ORM query (which cachalot then hashes and
fetches from Redis) per request. Here the user's identity fields are cached per token
key, memory level first, and rebuilt as a `User` with the other fields deferred (loaded
on first access, never overwritten by a save). Any save of the user or change of its
tokens invalidates the entry on commit (`signals.py` of this app).

Authentication reads the primary (a replica may not know a token just created, or still
know a user just deactivated), cached or not; session authentication too. Both name the
request's user for read-your-writes (`db_router.scope_user`).
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

from wemaster.core.cache import get_or_compute, invalidate_tags
from wemaster.core.db_router import reading_primary, scope_user

IDENTITY_FIELDS = ("id", "email", "role", "display_name", "is_active", "is_staff", "is_superuser")


def token_tag(key: str) -> str:
    return f"auth:token:{key}"


def _identity(key: str) -> dict | None:
    row = Token.objects.filter(key=key).values(*(f"user__{name}" for name in IDENTITY_FIELDS)).first()
    return {name: row[f"user__{name}"] for name in IDENTITY_FIELDS} if row else None


def user_for_token(key: str):
    """The active user owning `key`, or None."""
    with reading_primary():
        identity = get_or_compute(
            f"auth:token:{key}",
            lambda: _identity(key),
            tags=[token_tag(key)],
            ttl=settings.AUTH_TOKEN_CACHE_TTL,
            family="auth_token",
            local=True,
        )
    if identity is None or not identity["is_active"]:
        return None
    model = get_user_model()
    # from_db takes the loaded values in the model's field order; the rest stay deferred.
    names = [field.attname for field in model._meta.concrete_fields if field.attname in identity]
    return model.from_db("default", names, [identity[name] for name in names])


def invalidate_user_tokens(user_id: int) -> None:
    """On commit, drop the cached identity behind each of the user's tokens."""
    keys = Token.objects.filter(user_id=user_id).values_list("key", flat=True)
    invalidate_tags(*(token_tag(key) for key in keys))


class CachedTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key):
        user = user_for_token(key)
        if user is None:
            raise AuthenticationFailed("Invalid token.")
        scope_user(user.id)
        return user, Token(key=key, user_id=user.id)


class PrimarySessionAuthentication(SessionAuthentication):
    """DRF's session authentication with the session and its user read from the primary (a
    staff member who just logged in is not logged out by a lagging replica)."""

    def authenticate(self, request):
        with reading_primary():
            found = super().authenticate(request)
        if found is not None:
            scope_user(found[0].id)
        return found
