"""Prometheus metrics beyond django-prometheus' request histograms.

Request latency by view comes from django-prometheus' middleware; here are the
database query counter (every connection, by alias), the read replicas' state and routing,
and the shared registry helpers the cache layer and the ledger add their counters to.
"""

from prometheus_client import Counter, Gauge

db_queries = Counter("wemaster_db_queries_total", "SQL statements executed", ["alias"])
db_errors = Counter("wemaster_db_errors_total", "SQL statements that raised", ["alias"])

# Read replicas (wemaster.core.replica_monitor, db_router, replica_backend). With several
# processes (PROMETHEUS_MULTIPROC_DIR) a replica counts as up only if every live process sees it up.
replica_up = Gauge(
    "wemaster_db_replica_up",
    "1 when the read replica answered its last lag probe in this process, else 0",
    ["alias"],
    multiprocess_mode="livemin",
)
replica_lag = Gauge(
    "wemaster_db_replica_lag_seconds",
    "Replay lag of the read replica at its last probe (a lower bound while unknown)",
    ["alias"],
    multiprocess_mode="livemax",
)
replica_reads = Counter("wemaster_db_replica_reads_total", "Reads routed to a read replica", ["alias"])
primary_reads = Counter(
    "wemaster_db_primary_reads_total",
    "Reads that could have used a replica but went to the primary, by reason: pinned_write (the "
    "request or its user wrote what no usable replica has replayed yet), lag (replicas behind "
    "DATABASE_REPLICA_MAX_LAG), down (replicas unreachable or not probed yet), forced "
    "(reading_primary: shared-cache fills, authentication), cache_down (the user's last write "
    "unknown), replica_error (a live replica cancelled the read)",
    ["reason"],
)


def instrument_connection(sender, connection, **kwargs):
    """`connection_created` receiver: count every statement run on this connection."""
    if any(getattr(w, "_wemaster_metrics", False) for w in connection.execute_wrappers):
        return
    alias = connection.alias

    def count_query(execute, sql, params, many, context):
        db_queries.labels(alias).inc()
        try:
            return execute(sql, params, many, context)
        except Exception:
            db_errors.labels(alias).inc()
            raise

    count_query._wemaster_metrics = True
    connection.execute_wrappers.append(count_query)
