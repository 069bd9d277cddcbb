"""Websocket authentication: `ws://HOST/ws/chat/?token=<key>` (docs/API.md, Websocket)."""

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.contrib.auth.models import AnonymousUser

from wemaster.core import authentication


@database_sync_to_async
def user_for_token(key: str):
    """The same cached lookup as REST token authentication."""
    return authentication.user_for_token(key) or AnonymousUser()


class TokenAuthMiddleware(BaseMiddleware):
    """Puts the token's user (or AnonymousUser) in `scope["user"]`; consumers refuse anonymous."""

    async def __call__(self, scope, receive, send):
        params = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        key = (params.get("token") or [""])[0]
        scope = dict(scope, user=await user_for_token(key) if key else AnonymousUser())
        return await super().__call__(scope, receive, send)
