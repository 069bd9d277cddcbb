"""Stable per-user buckets: a hash of the flag name and the user id (docs/OPERATIONS.md, Feature flags).

waffle draws a random number per request and remembers it in a cookie; API clients carry tokens,
not cookies, so a user would flip in and out of a rollout from one request to the next. Here the
same user is in or out on every request and in every process, and raising the percentage only
ever adds users.
"""

import hashlib
from decimal import Decimal

BUCKETS = 1000  # tenths of a percent: the field's resolution


def user_bucket(flag_name: str, user_id: int) -> int:
    """The user's bucket for this flag, in [0, BUCKETS). Independent per flag, so the users a
    10 % rollout picks differ from one flag to the next."""
    digest = hashlib.sha256(f"{flag_name}:{user_id}".encode()).hexdigest()
    return int(digest[:8], 16) % BUCKETS


def percent_in_buckets(percent: Decimal | float | None) -> int:
    """How many buckets a percentage lets in (12.5 % -> 125)."""
    return 0 if percent is None else int(Decimal(str(percent)) * BUCKETS / 100)


def in_rollout(flag_name: str, buckets: int, user) -> bool:
    """Whether `user` falls within the first `buckets` buckets of the flag."""
    if buckets >= BUCKETS:
        return True
    if user is None or not user.is_authenticated:
        return False
    return user_bucket(flag_name, user.pk) < buckets
