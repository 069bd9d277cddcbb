"""A statement timeout for public read paths (PUBLIC_READ_STATEMENT_TIMEOUT_MS, PostgreSQL only).

A public read nobody has to be signed in for must not hold a worker thread and a database
connection for as long as a costly query likes: its statements on the primary run under a
`statement_timeout`, and one PostgreSQL cancels leaves as 503 `query_timeout` (the exception
handler in wemaster/core/errors.py), never 500.

Public reads run in autocommit, outside a transaction: opening one to `SET LOCAL` would pin every
read of the request to the primary (wemaster/core/db_router.py reads the primary inside a
transaction), so the timeout is set for the session before the first statement the block sends to
the primary and reset when the block ends, before the connection goes back to the pool. Both are
sent on the driver's cursor, outside Django's query log: they are not queries of the view (query
counts stay what the view reads). A transaction the view opens inherits the setting. Replicas
already cancel statements on their own, at 75 % of DATABASE_REPLICA_TIMEOUT.
"""

from contextlib import contextmanager

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections


@contextmanager
def statement_timeout(milliseconds: int, *, using: str = DEFAULT_DB_ALIAS):
    """Statements sent to `using` inside the block are cancelled after `milliseconds` (0: no limit)."""
    connection = connections[using]
    if connection.vendor != "postgresql" or milliseconds <= 0:
        yield
        return
    sent = False

    def set_timeout(execute, sql, params, many, context):
        nonlocal sent
        if not sent:
            _send(connection, f"SET statement_timeout = {int(milliseconds)}")
            sent = True
        return execute(sql, params, many, context)

    with connection.execute_wrapper(set_timeout):
        try:
            yield
        finally:
            if sent and connection.connection is not None:
                try:
                    _send(connection, "RESET statement_timeout")
                except DatabaseError:
                    # The connection broke: it is discarded, and the setting with it.
                    connection.close()


def _send(connection, sql: str) -> None:
    """One statement on the driver's cursor (not in Django's query log)."""
    with connection.wrap_database_errors, connection.connection.cursor() as cursor:
        cursor.execute(sql)


class PublicReadDeadlineMixin:
    """For APIView classes whose GET is public: the GET handler's primary statements run under
    PUBLIC_READ_STATEMENT_TIMEOUT_MS."""

    def dispatch(self, request, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            return super().dispatch(request, *args, **kwargs)
        with statement_timeout(settings.PUBLIC_READ_STATEMENT_TIMEOUT_MS):
            return super().dispatch(request, *args, **kwargs)
