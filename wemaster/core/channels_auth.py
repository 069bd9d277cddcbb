"""Websocket handshake (docs/API.md, Websocket; README, Messaging: "Websocket handshake"):
bounded inputs, the Origin rule, the token from the query or the subprotocol, and every refusal
as a close code.

Browsers cannot read an HTTP status refused during the upgrade, so every refusal accepts
first and closes at once with a code the client can act on: 4400 (handshake too large),
4403 (forbidden Origin), 4401 (no token, a malformed or unknown token, an inactive user).

- **Origin**: absent is allowed (mobile and server clients send none); present, it must match
  `MESSAGING_WS_ALLOWED_ORIGINS` (patterns as `ALLOWED_HOSTS`, its default).
- **Token**: `?token=<key>`, or in `Sec-WebSocket-Protocol` as the pair
  `wemaster.token, <key>` (the server then answers `wemaster.token`, never the key: the key
  stays out of URLs and access logs, and browsers get the subprotocol they require echoed).
  A client that offers the key alone is accepted without an echoed subprotocol.
- **Bounds before any lookup**: the query string is capped (`MESSAGING_WS_MAX_QUERY_BYTES`) and
  a token must have the shape of one we issue (`token_well_formed`, the same check as REST)
  before it reaches the cache or the database, so a huge or garbage token costs neither a cache
  entry nor a query. A socket is named in revocations by `revocation.token_key_of`.
"""

from urllib.parse import parse_qs, urlparse

from channels.db import database_sync_to_async
from channels.security.websocket import OriginValidator
from django.conf import settings
from prometheus_client import Counter

from wemaster.core import authentication
from wemaster.core.revocation import token_key_of

SUBPROTOCOL = "wemaster.token"

CLOSE_BAD_HANDSHAKE = 4400
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN_ORIGIN = 4403

# Most query fields a handshake may carry (token, since, and room for a client's own).
_MAX_QUERY_FIELDS = 8
# A client offers at most the pair `wemaster.token, <key>`; more is not ours to read.
_MAX_SUBPROTOCOLS = 4
# Longer than any token we issue (knox: prefix + 64 hex digits): not even shape-checked.
_MAX_TOKEN_CHARS = 128

refused = Counter("wemaster_ws_handshakes_refused_total", "Websocket handshakes refused, by reason", ["reason"])


def token_well_formed(raw) -> bool:
    """Whether `raw` may be a token at all (the shape REST checks too): checked before any cache
    or database lookup."""
    return isinstance(raw, str) and len(raw) <= _MAX_TOKEN_CHARS and authentication.well_formed(raw)


class HandshakeRefused(Exception):
    def __init__(self, code: int, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _origin_allowed(value: bytes) -> bool:
    patterns = list(settings.MESSAGING_WS_ALLOWED_ORIGINS)
    if settings.DEBUG and not patterns:
        patterns = ["localhost", "127.0.0.1", "[::1]"]
    try:
        # channels' matching (scheme, host, port, `.example.com` wildcards); a port out of
        # range makes urllib raise while it is read.
        return OriginValidator(None, patterns).validate_origin(urlparse(value.decode("latin-1")))
    except ValueError:
        return False


def _check_origin(scope) -> None:
    for name, value in scope.get("headers", ()):
        if name == b"origin" and not _origin_allowed(value):
            raise HandshakeRefused(CLOSE_FORBIDDEN_ORIGIN, "origin")


def offered_subprotocol(scope) -> str | None:
    """The subprotocol to answer with: ours when the client offered it, else none."""
    return SUBPROTOCOL if SUBPROTOCOL in scope.get("subprotocols", ())[:_MAX_SUBPROTOCOLS] else None


def _query_token(scope) -> str | None:
    raw = scope.get("query_string", b"")
    if len(raw) > settings.MESSAGING_WS_MAX_QUERY_BYTES:
        raise HandshakeRefused(CLOSE_BAD_HANDSHAKE, "query_size")
    try:
        params = parse_qs(raw.decode("latin-1"), max_num_fields=_MAX_QUERY_FIELDS)
    except ValueError as exc:
        raise HandshakeRefused(CLOSE_BAD_HANDSHAKE, "query_fields") from exc
    values = params.get("token") or [None]
    return values[0]


def handshake_token(scope) -> str:
    """The well-formed token the client presented. Raises HandshakeRefused (4400, 4401)."""
    offered = list(scope.get("subprotocols", ()))
    if len(offered) > _MAX_SUBPROTOCOLS:
        raise HandshakeRefused(CLOSE_UNAUTHENTICATED, "subprotocols")
    query_token = _query_token(scope)
    others = [value for value in offered if value != SUBPROTOCOL]
    if SUBPROTOCOL in offered and others:
        if len(others) > 1:
            raise HandshakeRefused(CLOSE_UNAUTHENTICATED, "subprotocols")
        token = others[0]
    elif query_token is None and len(others) == 1:
        token = others[0]  # the key offered alone: accepted, nothing echoed
    else:
        token = query_token
    if token is None:
        raise HandshakeRefused(CLOSE_UNAUTHENTICATED, "no_token")
    if not token_well_formed(token):
        raise HandshakeRefused(CLOSE_UNAUTHENTICATED, "malformed_token")
    return token


@database_sync_to_async
def user_for_token(key: str):
    """The same cached lookup as REST token authentication: the active user, or None."""
    return authentication.user_for_token(key)


async def refuse(receive, send, *, code: int, subprotocol: str | None) -> None:
    """Accept the handshake, then close it with `code` (a refusal the client can read)."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept", "subprotocol": subprotocol})
    await send({"type": "websocket.close", "code": code})


class TokenAuthMiddleware:
    """Admits a websocket with an allowed (or no) Origin and a valid token; refuses the rest
    after accepting (`refuse`). Puts in the scope: `user`, `auth_token` (the key, for the
    consumer's re-check once it joined the user's group), `token_key` and `ws_subprotocol`."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return await self.application(scope, receive, send)
        subprotocol = offered_subprotocol(scope)
        try:
            _check_origin(scope)
            token = handshake_token(scope)
            user = await user_for_token(token)
            if user is None:
                raise HandshakeRefused(CLOSE_UNAUTHENTICATED, "unknown_token")
        except HandshakeRefused as exc:
            refused.labels(exc.reason).inc()
            return await refuse(receive, send, code=exc.code, subprotocol=subprotocol)
        scope = dict(scope, user=user, auth_token=token, token_key=token_key_of(token), ws_subprotocol=subprotocol)
        return await self.application(scope, receive, send)
