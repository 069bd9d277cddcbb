"""Revocation reaches open sockets: the one seam between account changes and live connections.

Every change that takes a user's access away (deactivation, a role change, logout, a token
revoked, a password changed) calls `revoke_sessions` inside its transaction. On commit it

1. bumps the user's session version (`session_version`), which every open socket compares
   with the version it connected under before acting on an incoming frame, and
2. sends `session.revoked` to the user's group (`user_group`, the same group chat joins), so
   each of the user's sockets, in any process, closes within the channel layer's latency
   without waiting for the client to send anything.

`token_key` names the one token revoked (its sockets close, the user's others stay); None
revokes every session of the user. A change that rolls back revokes nothing.
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import caches
from django.db import transaction
from knox.settings import CONSTANTS

from wemaster.core.cache.redis_client import CacheUnavailable

logger = logging.getLogger(__name__)

# The consumer method receiving the broadcast (`session.revoked` -> `session_revoked`).
LAYER_REVOKED_TYPE = "session.revoked"
# A version outlives any socket (sockets are closed after a day of idleness at most).
_VERSION_TTL = 7 * 24 * 3600


def user_group(user_id: int) -> str:
    """The channel-layer group of every open socket of `user_id`."""
    return f"user.{user_id}"


def token_key_of(raw: str) -> str:
    """The name of a token among its user's sockets: knox's `token_key`, its first characters
    (what `revoke_sessions(token_key=...)` matches; never the whole token)."""
    return raw[: CONSTANTS.TOKEN_KEY_LENGTH]


def _version_key(user_id: int) -> str:
    return f"auth:session-version:{user_id}"


def session_version(user_id: int) -> int:
    """The user's current session version (0 until the first revocation)."""
    try:
        return int(caches["default"].get(_version_key(user_id)) or 0)
    except CacheUnavailable:
        return 0


def revoke_sessions(user_id: int, *, token_key: str | None = None) -> None:
    """On commit of the current transaction (at once outside one): close the user's open
    sockets, all of them or only those authenticated with `token_key`."""
    transaction.on_commit(lambda: _broadcast(user_id, token_key))


def _broadcast(user_id: int, token_key: str | None) -> None:
    if token_key is None:
        cache = caches["default"]
        try:
            cache.add(_version_key(user_id), 0, timeout=_VERSION_TTL)
            cache.incr(_version_key(user_id))
        except (CacheUnavailable, ValueError):
            logger.warning("session version not bumped: cache unavailable", extra={"user_id": user_id})
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(user_group(user_id), {"type": LAYER_REVOKED_TYPE, "token_key": token_key})
    except Exception:  # the channel layer's Redis is down: the per-frame version check still holds
        logger.warning("session revocation not broadcast", extra={"user_id": user_id}, exc_info=True)
