"""The replica backend's connection, cursors and fallback to the primary (see the package)."""

import logging

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.postgresql import base as postgresql
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.db.utils import InterfaceError, OperationalError
from psycopg import IsolationLevel

from wemaster.core import metrics
from wemaster.core.replica_backend.deadline import DeadlineConnection
from wemaster.core.replica_monitor import monitor

logger = logging.getLogger(__name__)

PRIMARY = DEFAULT_DB_ALIAS


def _primary_instead(replica, exc: Exception) -> None:
    """Account for a replica read that the primary answers instead; mark the replica down when
    its connection is gone (a cancelled statement leaves a live replica up)."""
    broken = replica.connection is None or replica.connection.closed
    if broken:
        monitor.mark_down(replica.alias, f"{type(exc).__name__}: {exc}")
        _close_quietly(replica)
    metrics.primary_reads.labels("down" if broken else "replica_error").inc()
    logger.warning(
        "replica read failed; the primary answers it",
        extra={"alias": replica.alias, "error": f"{type(exc).__name__}: {exc}", "replica_down": broken},
    )


def _close_quietly(replica) -> None:
    try:
        replica.close()
    except (OperationalError, InterfaceError):
        replica.connection = None


class _FallbackToPrimary:
    """A read that fails on the replica runs again on the primary; the cursor then stays there
    (the replica's cursor is dropped, later fetches read the primary's)."""

    def execute(self, sql, params=None):
        try:
            return super().execute(sql, params)
        except (OperationalError, InterfaceError) as exc:
            if self.db.alias == PRIMARY:
                raise
            _primary_instead(self.db, exc)
        self._move_to_primary()
        return super().execute(sql, params)

    def _move_to_primary(self) -> None:
        try:
            self.cursor.close()
        except (psycopg.Error, OperationalError, InterfaceError):
            logger.debug("replica cursor could not be closed", exc_info=True)
        primary = connections[PRIMARY]
        self.cursor = primary._cursor().cursor
        self.db = primary


class ReplicaCursorWrapper(_FallbackToPrimary, CursorWrapper):
    pass


class ReplicaCursorDebugWrapper(_FallbackToPrimary, CursorDebugWrapper):
    pass


class DatabaseWrapper(postgresql.DatabaseWrapper):
    """PostgreSQL for a read replica: bounded waits, reads the primary answers when it cannot."""

    def __init__(self, settings_dict, alias=DEFAULT_DB_ALIAS):
        pool = settings_dict.get("OPTIONS", {}).get("pool")
        if pool:
            options = {**settings_dict["OPTIONS"], "pool": {**pool, "connection_class": DeadlineConnection}}
            settings_dict = {**settings_dict, "OPTIONS": options}
        super().__init__(settings_dict, alias)

    def get_new_connection(self, conn_params):
        if self.pool:
            return super().get_new_connection(conn_params)
        # Without a pool (settings always configure one): the same connection class, read committed.
        self.isolation_level = IsolationLevel.READ_COMMITTED
        return DeadlineConnection.connect(**conn_params)

    def _cursor(self, name=None):
        try:
            return super()._cursor(name)
        except (OperationalError, InterfaceError) as exc:
            _primary_instead(self, exc)
        return connections[PRIMARY]._cursor(name)

    def make_cursor(self, cursor):
        return ReplicaCursorWrapper(cursor, self)

    def make_debug_cursor(self, cursor):
        return ReplicaCursorDebugWrapper(cursor, self)
