"""Read replicas with read-your-writes (DESIGN.md, Speed).

Writes go to `default`. Reads go to one of `settings.DATABASE_REPLICA_ALIASES`, except:
- inside a transaction on `default` (a service reading what it is about to write);
- for the rest of a request once it wrote (`ReadYourWritesMiddleware` opens the scope;
  `primary_after_writes()` does the same for a task or command);
- a replica found unreachable is skipped for `DATABASE_REPLICA_RETRY_SECONDS` (a TCP
  probe, at most once per that period per replica and process).
With no replica configured every read goes to `default`.
"""

import itertools
import logging
import socket
import threading
import time
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)

PRIMARY = "default"

_scope: ContextVar[dict | None] = ContextVar("wemaster_db_scope", default=None)


@contextmanager
def primary_after_writes():
    """Within this block, once anything is written every later read uses the primary."""
    token = _scope.set({"wrote": False})
    try:
        yield
    finally:
        _scope.reset(token)


def pin_to_primary() -> None:
    state = _scope.get()
    if state is not None:
        state["wrote"] = True


def pinned_to_primary() -> bool:
    state = _scope.get()
    return bool(state and state["wrote"])


class ReplicaHealth:
    """Process-local memo of which replicas answer TCP connections."""

    def __init__(self):
        self._lock = threading.Lock()
        self._checked: dict[str, tuple[float, bool]] = {}

    def is_up(self, alias: str) -> bool:
        now = time.monotonic()
        with self._lock:
            item = self._checked.get(alias)
        if item is not None and now - item[0] < settings.DATABASE_REPLICA_RETRY_SECONDS:
            return item[1]
        up = self._probe(alias)
        with self._lock:
            self._checked[alias] = (now, up)
        if not up:
            logger.warning("read replica unreachable; reading from the primary", extra={"alias": alias})
        return up

    @staticmethod
    def _probe(alias: str) -> bool:
        params = connections[alias].settings_dict
        if not params.get("HOST") or str(params["HOST"]).startswith("/"):
            return True  # a local socket or file database: nothing to probe over TCP
        try:
            with socket.create_connection(
                (params["HOST"], int(params.get("PORT") or 5432)), timeout=settings.DATABASE_REPLICA_PROBE_TIMEOUT
            ):
                return True
        except OSError:
            return False

    def forget(self) -> None:
        with self._lock:
            self._checked.clear()


replica_health = ReplicaHealth()
_round_robin = itertools.count()


class PrimaryReplicaRouter:
    def db_for_read(self, model, **hints):
        replicas = settings.DATABASE_REPLICA_ALIASES
        if not replicas or pinned_to_primary() or connections[PRIMARY].in_atomic_block:
            return PRIMARY
        start = next(_round_robin)
        for offset in range(len(replicas)):
            alias = replicas[(start + offset) % len(replicas)]
            if replica_health.is_up(alias):
                return alias
        return PRIMARY

    def db_for_write(self, model, **hints):
        pin_to_primary()
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        aliases = {PRIMARY, *settings.DATABASE_REPLICA_ALIASES}
        if obj1._state.db in aliases and obj2._state.db in aliases:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == PRIMARY


class ReadYourWritesMiddleware:
    """After a request writes, its later reads go to the primary."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with primary_after_writes():
            return self.get_response(request)
