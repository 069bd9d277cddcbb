"""`flag_is_active(name, user)`: the one way code asks whether a flag is on (docs/OPERATIONS.md).

Decided from the cached flag table (`selectors.flag_table`), never from a request cookie, in
waffle's order: `everyone` (Yes/No overrides all), then the overrides (authenticated, staff,
superusers, listed users, listed groups), then the percentage by stable per-user buckets
(`buckets.py`; anonymous callers are in only at 100 %). waffle's testing and language options are
not used by the API. A flag without a row takes its registry default (`registry.py`).

Within an HTTP request (`FlagRequestMiddleware`) each flag is decided once per user and counted
once in `wemaster_flag_requests_total{flag, state}`, so a rollout can be watched on /metrics.
"""

import random
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.utils.functional import LazyObject, empty

from wemaster.flags import metrics
from wemaster.flags.buckets import in_rollout
from wemaster.flags.registry import CACHE_FAMILIES, cache_flag, spec


@dataclass
class _RequestFlags:
    request: object
    table: dict | None = None
    decisions: dict = field(default_factory=dict)
    counted: set = field(default_factory=set)


_request_flags: ContextVar[_RequestFlags | None] = ContextVar("wemaster_request_flags", default=None)


def _table(state: _RequestFlags | None) -> dict:
    from wemaster.flags import selectors

    if state is None:
        return selectors.flag_table()
    if state.table is None:
        state.table = selectors.flag_table()
    return state.table


def _decide(name: str, row: dict, user) -> bool:
    if row["everyone"] is not None:
        return row["everyone"]
    if user is not None and user.is_authenticated:
        if (
            row["authenticated"]
            or (row["staff"] and user.is_staff)
            or (row["superusers"] and user.is_superuser)
            or user.pk in row["users"]
        ):
            return True
        if row["groups"]:
            from wemaster.flags.selectors import user_group_ids

            if set(row["groups"]).intersection(user_group_ids(user.pk)):
                return True
    return row["buckets"] is not None and in_rollout(name, row["buckets"], user)


def flag_is_active(name: str, user=None) -> bool:
    """Whether flag `name` is on for `user` (None or AnonymousUser: an anonymous caller).
    Raises LookupError for a name the registry does not declare."""
    default = spec(name).default
    state = _request_flags.get()
    key = (name, getattr(user, "pk", None))
    if state is not None and key in state.decisions:
        return state.decisions[key]
    row = _table(state)["flags"].get(name)
    active = default if row is None else _decide(name, row, user)
    if state is not None:
        state.decisions[key] = active
        if name not in state.counted:
            state.counted.add(name)
            metrics.flag_requests.labels(name, "on" if active else "off").inc()
    return active


def switch_is_active(name: str) -> bool:
    """waffle switch `name` (global on/off; off when it does not exist)."""
    return bool(_table(_request_flags.get())["switches"].get(name, False))


def sample_is_active(name: str) -> bool:
    """waffle sample `name`: true that percentage of the calls, as waffle draws it (never when it
    does not exist)."""
    percent = _table(_request_flags.get())["samples"].get(name)
    return percent is not None and random.uniform(0, 100) <= percent


def _known_user(request):
    """The request's user once authentication has named one, else None. Never triggers Django's
    lazy session lookup: a check made during authentication (the token cache) sees an anonymous
    caller."""
    user = getattr(request, "user", None)
    if isinstance(user, LazyObject):
        return None if user._wrapped is empty else user._wrapped
    return user


def cache_family_enabled(family: str) -> bool:
    """Whether the cache API serves `family` from its cache for the current caller: the flag
    `cache.<family>` for the request's user. Outside a request (warmers, tasks, consumers) and for
    families the registry does not list, always (only `CACHES_ENABLED` turns those off)."""
    state = _request_flags.get()
    if state is None or family not in CACHE_FAMILIES:
        return True
    return flag_is_active(cache_flag(family), _known_user(state.request))


class FlagRequestMiddleware:
    """Opens the request's flag scope: its decisions and their count on /metrics."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _request_flags.set(_RequestFlags(request=request))
        try:
            return self.get_response(request)
        finally:
            _request_flags.reset(token)
