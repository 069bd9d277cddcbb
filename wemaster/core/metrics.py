"""Prometheus metrics beyond django-prometheus' request histograms.

Request latency by view comes from django-prometheus' middleware; here are the
database query counter (every connection, by alias) and the SQL each HTTP request costs, the
read replicas' state and routing, payouts by outcome, open websockets, and the bookkeeping of
the multiprocess directory. The shared registry helpers the cache layer and the ledger add
their counters to live next to them (wemaster/core/cache/metrics.py, wemaster/ledger/metrics.py).
What is read at scrape time (queue depth, intents, connections, processes) is in
`metrics_collectors`; the protected `/metrics` view in `metrics_view` (docs/OPERATIONS.md).

Several processes (granian workers, daphne, Celery) write their series into the directory named
by `PROMETHEUS_MULTIPROC_DIR` and `/metrics` merges them. Every gauge therefore says how it is
merged (`multiprocess_mode`): `livesum`/`livemax`/`livemin` count only processes still alive, so a
process that exits must be marked dead (`mark_this_process_dead`), and one killed outright is
found dead at the next scrape (`reap_dead_processes`).
"""

import contextvars
import glob
import logging
import multiprocessing.util
import os
import re
import time

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client import multiprocess as prometheus_multiprocess

logger = logging.getLogger(__name__)

db_queries = Counter("wemaster_db_queries_total", "SQL statements executed", ["alias"])
db_errors = Counter("wemaster_db_errors_total", "SQL statements that raised", ["alias"])

# The SQL one HTTP request costs (every alias), observed when the response is finished: the
# dashboard's "DB time per request" and "queries per request".
request_db_queries = Histogram(
    "wemaster_http_request_db_queries",
    "SQL statements run by one HTTP request",
    buckets=(0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, float("inf")),
)
request_db_seconds = Histogram(
    "wemaster_http_request_db_seconds",
    "Time one HTTP request spent waiting for SQL statements",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, float("inf")),
)

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

PAYOUT_OUTCOMES = ("paid", "failed", "pending")
payouts = Counter(
    "wemaster_payouts_total",
    "Payout attempts by outcome: paid, failed (the provider refused it; the money went back to "
    "the tutor) or pending (no final answer yet: a transient error, a lost answer or a payout "
    "pending at the provider; the task asks again)",
    ["outcome"],
)
for _outcome in PAYOUT_OUTCOMES:  # every outcome exists from the start, so rate() sees the first one
    payouts.labels(_outcome)

websocket_connections = Gauge(
    "wemaster_websocket_connections",
    "Chat websockets accepted and still open, summed over the live ASGI processes",
    multiprocess_mode="livesum",
)


def payout_settled(outcome: str) -> None:
    """Count one payout attempt; outcomes outside PAYOUT_OUTCOMES (already settled) are not attempts."""
    if outcome in PAYOUT_OUTCOMES:
        payouts.labels(outcome).inc()


def websocket_opened(consumer) -> None:
    """Count `consumer` as open (after its accept); `websocket_closed` uncounts it once."""
    consumer._wemaster_counted = True
    websocket_connections.inc()


def websocket_closed(consumer) -> None:
    if consumer.__dict__.pop("_wemaster_counted", False):
        websocket_connections.dec()


class _RequestSql:
    __slots__ = ("queries", "seconds")

    def __init__(self):
        self.queries = 0
        self.seconds = 0.0


# The tally of the request this thread or task is serving; None outside a request (Celery,
# commands). A mutable object, so statements run in sync_to_async threads add to the same one.
_request_sql: contextvars.ContextVar[_RequestSql | None] = contextvars.ContextVar("wemaster_request_sql", default=None)


def request_started(**kwargs) -> None:
    """`request_started` receiver: a fresh SQL tally for this request."""
    _request_sql.set(_RequestSql())


def request_finished(**kwargs) -> None:
    """`request_finished` receiver: observe what the request's SQL cost."""
    tally = _request_sql.get()
    if tally is None:
        return
    _request_sql.set(None)
    request_db_queries.observe(tally.queries)
    request_db_seconds.observe(tally.seconds)


def instrument_connection(sender, connection, **kwargs):
    """`connection_created` receiver: count and time every statement run on this connection."""
    if any(getattr(w, "_wemaster_metrics", False) for w in connection.execute_wrappers):
        return
    alias = connection.alias

    def count_query(execute, sql, params, many, context):
        db_queries.labels(alias).inc()
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        except Exception:
            db_errors.labels(alias).inc()
            raise
        finally:
            tally = _request_sql.get()
            if tally is not None:
                tally.queries += 1
                tally.seconds += time.perf_counter() - started

    count_query._wemaster_metrics = True
    connection.execute_wrappers.append(count_query)


# --- the multiprocess directory -------------------------------------------------------------------
def multiprocess_dir() -> str | None:
    """The directory every process of this host writes its series to, or None (one process)."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def mark_this_process_dead(*args, **kwargs) -> None:
    """Drop this process' live gauges (open websockets, breaker states) from the merge. Safe to
    call twice; also a Celery `worker_process_shutdown` receiver."""
    path = multiprocess_dir()
    if path:
        prometheus_multiprocess.mark_process_dead(os.getpid(), path)


def _mark_dead_at_exit(*args) -> None:
    multiprocessing.util.Finalize(None, mark_this_process_dead, exitpriority=0)


class _ForkHook:
    """What multiprocessing's after-fork registry holds on to (it keeps weak references)."""


_fork_hook = _ForkHook()


def on_process_exit() -> None:
    """Mark this process dead when it exits normally. multiprocessing's finalizers run both at
    interpreter exit (daphne, the Celery main process, commands) and when a multiprocessing child
    ends (granian's workers, which leave through os._exit, where atexit would not run); a child
    forked after Django was set up gets its own finalizer (its parent's are dropped at the fork).
    Billiard's children (the Celery pool) are marked by the `worker_process_shutdown` signal."""
    if multiprocess_dir():
        _mark_dead_at_exit()
        multiprocessing.util.register_after_fork(_fork_hook, _mark_dead_at_exit)


_LIVE_FILE = re.compile(r"gauge_live\w+?_(\d+)\.db$")


def reap_dead_processes(path: str) -> list[int]:
    """Mark dead every process whose live-gauge files remain but which no longer runs (killed
    with SIGKILL, OOM): their open websockets and breaker states must not count. Returns the pids.
    Pids are this host's: the directory must never be shared between machines."""
    import psutil

    dead = set()
    for name in glob.glob(os.path.join(path, "gauge_live*_*.db")):
        match = _LIVE_FILE.search(os.path.basename(name))
        if match and not psutil.pid_exists(int(match.group(1))):
            dead.add(int(match.group(1)))
    for pid in sorted(dead):
        prometheus_multiprocess.mark_process_dead(pid, path)
        logger.info("metrics of a dead process dropped", extra={"pid": pid})
    return sorted(dead)


def process_ids(path: str) -> set[int]:
    """Every pid that wrote series into the multiprocess directory (alive or not)."""
    pids = set()
    for name in os.listdir(path):
        stem, _, pid = name.removesuffix(".db").rpartition("_")
        if stem and pid.isdigit():
            pids.add(int(pid))
    return pids
