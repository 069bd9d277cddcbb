"""Device tokens (README, Accounts and sessions): issue one per login, list, revoke.

A token is a django-rest-knox token (`DeviceToken`): the client sees it once, the database keeps
its digest. Every revocation deletes the row (whose cached identity `signals.py` of core drops on
commit) and closes the open sockets it authenticated (`revoke_sessions`, on commit), so the token
stops working at once for REST and websockets alike.
"""

import unicodedata

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from wemaster.accounts.models import DEVICE_NAME_MAX_LENGTH, DeviceToken, User
from wemaster.core.errors import NotFound
from wemaster.core.revocation import revoke_sessions


def device_name(*, device: str | None = None, user_agent: str = "") -> str:
    """What a token is called in the caller's list: the client's own `device` name, else its
    User-Agent, as one line of printable text cut to `DEVICE_NAME_MAX_LENGTH`."""
    text = (device or "").strip() or user_agent[: DEVICE_NAME_MAX_LENGTH * 4]
    printable = "".join(char if unicodedata.category(char)[0] not in "CZ" else " " for char in text)
    return " ".join(printable.split())[:DEVICE_NAME_MAX_LENGTH]


@transaction.atomic
def token_create(*, user: User, name: str = "") -> tuple[DeviceToken, str]:
    """Issue a token for one device; returns the row and the raw token (shown once, never
    stored). The least recently used tokens beyond `AUTH_TOKENS_PER_USER` are revoked."""
    by_last_use = (F("last_used").desc(nulls_last=True), "-id")
    surplus = tokens_of(user_id=user.id).order_by(*by_last_use)[settings.AUTH_TOKENS_PER_USER - 1 :]
    _revoke_each(user.id, DeviceToken.objects.filter(pk__in=list(surplus.values_list("pk", flat=True))))
    return DeviceToken.objects.create(user=user, name=name, last_used=timezone.now())


@transaction.atomic
def token_replace(*, user: User, name: str) -> str:
    """A new token for the device called `name`, revoking the tokens that device had: for a
    device that knows it signs in again (the demo seed, printing one usable token per run)."""
    _revoke_each(user.id, DeviceToken.objects.filter(user_id=user.id, name=name))
    return token_create(user=user, name=name)[1]


def tokens_of(*, user_id: int) -> QuerySet[DeviceToken]:
    """The user's live tokens, newest first, without their digests."""
    return (
        DeviceToken.objects.filter(Q(expiry__isnull=True) | Q(expiry__gt=timezone.now()), user_id=user_id)
        .only("id", "user_id", "name", "created", "last_used", "expiry", "token_key")
        .order_by("-id")
    )


@transaction.atomic
def token_revoke(*, user: User, token_id: int) -> None:
    """Revoke one of the user's tokens (another user's is NotFound). Its sockets close."""
    if not _revoke_each(user.id, DeviceToken.objects.filter(pk=token_id, user_id=user.id)):
        raise NotFound()


def tokens_revoke_others(*, user_id: int, keep_token_id: int | None) -> int:
    """Revoke every token of the user but `keep_token_id` (every one when None), closing their
    sockets one token at a time, so the socket of the kept token stays open. Call inside the
    transaction of the change that warrants it."""
    tokens = DeviceToken.objects.filter(user_id=user_id)
    if keep_token_id is not None:
        tokens = tokens.exclude(pk=keep_token_id)
    return _revoke_each(user_id, tokens)


def tokens_delete(*, user_id: int) -> int:
    """Delete every token of the user without closing sockets: for callers that close all of
    the user's sessions themselves (`revoke_sessions(user_id)`), in the same transaction."""
    deleted, _ = DeviceToken.objects.filter(user_id=user_id).delete()
    return deleted


def _revoke_each(user_id: int, tokens: QuerySet[DeviceToken]) -> int:
    keys = list(tokens.values_list("token_key", flat=True))
    if not keys:
        return 0
    tokens.delete()
    for key in keys:
        revoke_sessions(user_id, token_key=key)
    return len(keys)


def tokens_prune(*, batch_size: int = 1000) -> int:
    """Delete every expired token, a batch per transaction. They already fail authentication;
    the sockets they opened while alive are closed too."""
    now = timezone.now()
    pruned = 0
    while True:
        with transaction.atomic():
            expired = DeviceToken.objects.filter(expiry__lte=now).values_list("pk", "user_id", "token_key")
            expired = list(expired[:batch_size])
            if not expired:
                return pruned
            DeviceToken.objects.filter(pk__in=[pk for pk, _, _ in expired]).delete()
            for _, user_id, key in expired:
                revoke_sessions(user_id, token_key=key)
        pruned += len(expired)
