"""A psycopg connection whose waits for the server are bounded (replica reads and lag probes)."""

import psycopg
from django.conf import settings
from psycopg import errors as pg_errors


class ReplicaTimeout(psycopg.OperationalError):
    """The server did not answer within DATABASE_REPLICA_TIMEOUT; the connection was closed."""


class DeadlineConnection(psycopg.Connection):
    """Every wait for the server (a query, a fetch, a commit) ends after DATABASE_REPLICA_TIMEOUT.

    psycopg's waits accept a timeout but queries pass none, so a server that stopped answering
    (a frozen process: the kernel still accepts and acknowledges, nobody replies) would hold the
    caller forever; `statement_timeout` cannot help, the server is the one that is stuck. On
    expiry the connection is closed (its protocol state is unknown) and `ReplicaTimeout` raised.
    """

    def wait(self, gen, interval=0.1, timeout=None):
        limit = settings.DATABASE_REPLICA_TIMEOUT if timeout is None else timeout
        try:
            return super().wait(gen, interval, limit)
        except pg_errors._WaitTimeout as exc:  # psycopg's (private) error for an expired wait
            self.pgconn.finish()
            raise ReplicaTimeout(f"no answer within {limit} s") from exc
