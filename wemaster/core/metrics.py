"""Prometheus metrics beyond django-prometheus' request histograms.

Request latency by view comes from django-prometheus' middleware; here are the
database query counter (every connection, by alias) and the shared registry helpers
the cache layer and the ledger add their counters to.
"""

from prometheus_client import Counter

db_queries = Counter("wemaster_db_queries_total", "SQL statements executed", ["alias"])
db_errors = Counter("wemaster_db_errors_total", "SQL statements that raised", ["alias"])


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
