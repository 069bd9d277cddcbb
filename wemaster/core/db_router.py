"""Read replicas: who may read one, and which (docs/ARCHITECTURE.md, Read replicas).

Writes go to `default`. A read goes to a replica only inside a replica-safe scope:
- `ReplicaReadsMiddleware` opens one for each API read (GET, HEAD, OPTIONS under `/api/`);
- `replica_safe()` opens one for any other code whose reads tolerate replicas.
Everything else reads the primary: API writes (their validation reads included), admin and
every non-API page, Celery tasks, management commands, websocket consumers and the shell.

Within a replica-safe scope the primary still answers:
- inside a transaction on the primary, and for the rest of the scope once it wrote;
- inside `reading_primary()`: every compute that fills a shared cache (`get_or_compute`,
  warmers), token and session authentication; cachalot caches primary reads only
  (`CACHALOT_DATABASES`), so no shared cache ever learns from a replica;
- sessions, tokens and permissions (their apps' models) always;
- when the scope's user wrote something no usable replica has replayed yet
  (`read_your_writes`: the floor recorded after the user's last write, in any worker);
- when no replica is usable: each is probed in the background (`replica_monitor`); one that
  is unreachable, lags more than `DATABASE_REPLICA_MAX_LAG` or was not probed yet is skipped.
A scope keeps the replica it first read while it stays usable (its reads never mix two replicas'
points in time).
A read the chosen replica fails to answer is answered by the primary (`replica_backend`).

Scopes end by recording the floor of the user they wrote for; `routing_scope(user_id=...)`
does that around a websocket frame, the middleware around a request.
"""

import logging
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections

from wemaster.core import metrics, read_your_writes
from wemaster.core.replica_monitor import monitor, replica_for_read

logger = logging.getLogger(__name__)

PRIMARY = DEFAULT_DB_ALIAS
API_PREFIX = "/api/"  # as wemaster.core.middleware's (importing it here would be circular: DRF, auth)
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Authentication, sessions, API tokens and permissions are read from the primary, whoever asks.
PRIMARY_ONLY_APPS = frozenset({"auth", "sessions", "contenttypes"})
PRIMARY_ONLY_MODELS = frozenset({settings.KNOX_TOKEN_MODEL.lower()})

UNKNOWN = object()


@dataclass
class RoutingScope:
    replica_reads: bool
    user_id: int | None = None
    wrote: bool = False
    replica: str | None = None
    floor: object = UNKNOWN  # int once read for user_id; None when the cache could not tell


_scope: ContextVar[RoutingScope | None] = ContextVar("wemaster_db_scope", default=None)
_forced: ContextVar[int] = ContextVar("wemaster_db_forced", default=0)


@contextmanager
def routing_scope(*, replica_reads: bool = False, user_id: int | None = None):
    """Open a scope (see the module docstring); on exit, if it wrote for a known user, raise
    that user's floor. Yields the scope so its user can be named once known."""
    scope = RoutingScope(replica_reads=replica_reads, user_id=user_id)
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)
        if scope.wrote and scope.user_id is not None and settings.DATABASE_REPLICA_ALIASES:
            try:
                read_your_writes.record_write(scope.user_id)
            except (OperationalError, InterfaceError) as exc:
                # The primary went away after the write: nothing is read from it until it is back.
                logger.warning(
                    "user's write position not recorded", extra={"user_id": scope.user_id, "error": repr(exc)}
                )


@contextmanager
def replica_safe(user_id: int | None = None):
    """Reads in this block may use a replica within `DATABASE_REPLICA_MAX_LAG` (and past
    `user_id`'s floor). For reads that tolerate that lag only; never around a cache fill."""
    with routing_scope(replica_reads=True, user_id=user_id) as scope:
        yield scope


@contextmanager
def reading_primary():
    """Every read in this block uses the primary (shared-cache fills, authentication)."""
    token = _forced.set(_forced.get() + 1)
    try:
        yield
    finally:
        _forced.reset(token)


def scope_user(user_id: int) -> None:
    """Name the user the current scope reads and writes for (authentication calls this; so do
    views that create the account they answer for). No-op outside a scope."""
    scope = _scope.get()
    if scope is not None and scope.user_id is None:
        scope.user_id = user_id


def _floor(scope: RoutingScope):
    if scope.floor is UNKNOWN:
        scope.floor = 0 if scope.user_id is None else read_your_writes.floor_for(scope.user_id)
    return scope.floor


def _read_alias(model) -> str:
    replicas = settings.DATABASE_REPLICA_ALIASES
    scope = _scope.get()
    if not replicas or scope is None or not scope.replica_reads:
        return PRIMARY
    if (
        model._meta.app_label in PRIMARY_ONLY_APPS
        or model._meta.label_lower in PRIMARY_ONLY_MODELS
        or connections[PRIMARY].in_atomic_block
    ):
        return PRIMARY
    if _forced.get():
        metrics.primary_reads.labels("forced").inc()
        return PRIMARY
    if scope.wrote:
        metrics.primary_reads.labels("pinned_write").inc()
        return PRIMARY
    monitor.ensure_running()
    floor = _floor(scope)
    if floor is None:
        metrics.primary_reads.labels("cache_down").inc()
        return PRIMARY
    alias, reason = replica_for_read(replicas, floor=floor, preferred=scope.replica)
    if alias is None:
        metrics.primary_reads.labels(reason).inc()
        return PRIMARY
    scope.replica = alias
    metrics.replica_reads.labels(alias).inc()
    return alias


class PrimaryReplicaRouter:
    def db_for_read(self, model, **hints):
        return _read_alias(model)

    def db_for_write(self, model, **hints):
        scope = _scope.get()
        if scope is not None:
            scope.wrote = True
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        aliases = {PRIMARY, *settings.DATABASE_REPLICA_ALIASES}
        if obj1._state.db in aliases and obj2._state.db in aliases:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == PRIMARY


class ReplicaReadsMiddleware:
    """API reads may use replicas; every other request reads the primary. Once a request that
    wrote ends, its user's floor is raised (the user is the authenticated one, else the one the
    view named with `scope_user`, e.g. a new account)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        api_read = request.method in READ_METHODS and request.path.startswith(API_PREFIX)
        with replica_safe() if api_read else routing_scope() as scope:
            response = self.get_response(request)
            if scope.wrote and scope.user_id is None:
                user = getattr(request, "user", None)
                if user is not None and user.is_authenticated:
                    scope.user_id = user.id
        return response
