"""Series read at scrape time rather than counted as things happen: the Celery queues' depth (from
the broker), unresolved payment intents and database connections (one short transaction on the
primary), and the CPU and memory of every process of this host that writes metrics.

Each collector keeps its last reading for METRICS_COLLECTOR_CACHE_SECONDS, so a scrape every few
seconds (or several Prometheus servers) costs the broker and the database one cheap round trip
per period and process. Each reading runs in the collector's own thread and the scrape waits
for it at most `timeout()` seconds (a database whose pool has no connection to give would
otherwise hold the scrape for DB_POOL_TIMEOUT). A collector that fails or times out reports
`wemaster_collector_up{collector=...} 0` and nothing else: a dead broker never fails the scrape.
"""

import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.apps import apps
from django.conf import settings
from django.db import connections, transaction
from django.db.models import Count, Min, Q, Value
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from wemaster.core import metrics

logger = logging.getLogger(__name__)


class ScrapeCollector:
    """A prometheus_client collector whose reading is memoised for a few seconds per process."""

    name = ""

    def __init__(self):
        self._lock = threading.Lock()
        self._read_at = float("-inf")
        self._reading = None
        self._error: BaseException | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"metrics-{self.name}")
        self._pending = None

    def enabled(self) -> bool:
        return True

    def timeout(self) -> float:
        """How long a scrape waits for a reading."""
        return 2.0

    def read(self):
        """The current reading (plain data); raises when the source cannot be read."""
        raise NotImplementedError

    def families(self, reading):
        """The metric families of one reading."""
        raise NotImplementedError

    def _read_with_deadline(self):
        # One reading in flight at most: a scrape that finds the last one still running waits for
        # it rather than starting another, so a hung source holds one thread, not one per scrape.
        if self._pending is None or self._pending.done():
            self._pending = self._executor.submit(self.read)
        return self._pending.result(timeout=self.timeout())

    def current(self):
        with self._lock:
            if time.monotonic() - self._read_at >= settings.METRICS_COLLECTOR_CACHE_SECONDS:
                try:
                    self._reading, self._error = self._read_with_deadline(), None
                except Exception as exc:  # noqa: BLE001 - a failing source is reported, never raised
                    logger.warning("metrics collector failed", extra={"collector": self.name, "error": repr(exc)})
                    self._reading, self._error = None, exc
                self._read_at = time.monotonic()
            return self._reading, self._error

    def forget(self) -> None:
        with self._lock:
            self._read_at = float("-inf")


def _gauge(name: str, documentation: str, labels: list[str], rows) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for *label_values, value in rows:
        family.add_metric([str(v) for v in label_values], value)
    return family


# --- Celery ---------------------------------------------------------------------------------------
def celery_queue_names(app) -> list[str]:
    """The queues the workers consume: the default one plus any declared in CELERY_TASK_QUEUES."""
    names = {app.conf.task_default_queue}
    names.update(queue.name for queue in (app.conf.task_queues or ()))
    return sorted(names)


def celery_queue_depths() -> dict[str, int]:
    """Messages waiting in each queue, asked of the broker with METRICS_BROKER_TIMEOUT_SECONDS:
    Redis counts its lists (every priority level; kombu's own `_size`), RabbitMQ answers a passive
    queue_declare (a queue not declared yet holds nothing)."""
    from wemaster.celery import app

    timeout = settings.METRICS_BROKER_TIMEOUT_SECONDS
    options = {
        **(app.conf.broker_transport_options or {}),
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
    }
    depths = {}
    with app.connection_for_read(connect_timeout=timeout, transport_options=options) as connection:
        connection.ensure_connection(max_retries=0)
        channel = connection.default_channel
        for queue in celery_queue_names(app):
            if hasattr(channel, "_size"):  # kombu's virtual transports (Redis, Sentinel)
                depths[queue] = int(channel._size(queue))
                continue
            try:
                depths[queue] = channel.queue_declare(queue=queue, passive=True).message_count
            except connection.channel_errors:
                depths[queue] = 0  # never declared: the broker closed the channel, open another
                channel = connection.channel()
    return depths


class CeleryQueueCollector(ScrapeCollector):
    name = "celery_queues"

    def enabled(self) -> bool:
        return not settings.CELERY_TASK_ALWAYS_EAGER and not settings.CELERY_BROKER_URL.startswith("memory://")

    def timeout(self) -> float:
        return 4 * settings.METRICS_BROKER_TIMEOUT_SECONDS  # connect, then a round trip per queue

    def read(self):
        return celery_queue_depths()

    def families(self, reading):
        yield _gauge(
            "wemaster_celery_queue_depth",
            "Tasks waiting in a Celery queue (not yet taken by a worker), read from the broker",
            ["queue"],
            sorted(reading.items()),
        )


# --- the database ---------------------------------------------------------------------------------
def _intent_rows(model, kind: str, statuses, overdue_before):
    return (
        model.objects.using("default")
        .filter(status__in=statuses)
        .values("status")
        .annotate(
            kind=Value(kind),
            pending=Count("id"),
            overdue=Count("id", filter=Q(updated_at__lt=overdue_before)),
            oldest=Min("updated_at"),
        )
        .values_list("kind", "status", "pending", "overdue", "oldest")
    )


def unresolved_intents(now=None) -> list[tuple[str, str, int, int, float]]:
    """(kind, status, count, overdue count, age of the oldest in seconds) of the payment intents
    not settled yet: top-ups pending or processing, withdrawals requested or processing. An intent
    is overdue when untouched for PAYMENTS_UNRESOLVED_REPORT_AFTER_SECONDS (what `reconcile`
    reports). One aggregate query; both filters use the tables' partial indexes."""
    from earnings.models import IN_FLIGHT
    from wallet.models import UNRESOLVED

    now = now or timezone.now()
    overdue_before = now - timedelta(seconds=settings.PAYMENTS_UNRESOLVED_REPORT_AFTER_SECONDS)
    top_ups = _intent_rows(apps.get_model("wallet", "TopUp"), "top_up", UNRESOLVED, overdue_before)
    withdrawals = _intent_rows(apps.get_model("earnings", "Withdrawal"), "withdrawal", IN_FLIGHT, overdue_before)
    return [
        (kind, status, pending, overdue, max(0.0, (now - oldest).total_seconds()))
        for kind, status, pending, overdue, oldest in top_ups.union(withdrawals, all=True)
    ]


CONNECTIONS_SQL = """
    SELECT coalesce(state, 'unknown'), count(*), current_setting('max_connections')::int
    FROM pg_stat_activity
    WHERE datname = current_database() AND backend_type = 'client backend'
    GROUP BY 1
"""


def database_snapshot() -> dict:
    """Intents and (PostgreSQL) the primary's client connections by state, in one short
    transaction whose statements give up after METRICS_DB_TIMEOUT_MS."""
    connection = connections["default"]
    postgres = connection.vendor == "postgresql"
    with transaction.atomic(using="default"):
        if postgres:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL statement_timeout = %s", [int(settings.METRICS_DB_TIMEOUT_MS)])
        intents = unresolved_intents()
        states, max_connections = [], None
        if postgres:
            with connection.cursor() as cursor:
                cursor.execute(CONNECTIONS_SQL)
                for state, count, limit in cursor.fetchall():
                    states.append((state, count))
                    max_connections = limit
    return {"intents": intents, "connections": states, "max_connections": max_connections}


INTENT_STATUSES = {"top_up": ("pending", "processing"), "withdrawal": ("requested", "processing")}


class DatabaseCollector(ScrapeCollector):
    name = "database"

    def timeout(self) -> float:
        return 2 * settings.METRICS_DB_TIMEOUT_MS / 1000  # a pooled connection, then the statements

    def read(self):
        try:
            return database_snapshot()
        finally:
            connections["default"].close()  # this thread's connection goes back to the pool

    def families(self, reading):
        seen = {(kind, status): row for kind, status, *row in reading["intents"]}
        # Every kind and status is reported, 0 when none is waiting: an alert sees it go back to 0.
        keys = [(kind, status) for kind, statuses in INTENT_STATUSES.items() for status in statuses]
        rows = [(kind, status, *seen.get((kind, status), (0, 0, 0.0))) for kind, status in keys]
        yield _gauge(
            "wemaster_intents_unresolved",
            "Payment intents not settled yet (top-ups pending/processing, withdrawals requested/processing)",
            ["kind", "status"],
            [(kind, status, pending) for kind, status, pending, _, _ in rows],
        )
        yield _gauge(
            "wemaster_intents_overdue",
            "Unresolved payment intents untouched for PAYMENTS_UNRESOLVED_REPORT_AFTER_SECONDS (stuck)",
            ["kind", "status"],
            [(kind, status, overdue) for kind, status, _, overdue, _ in rows],
        )
        yield _gauge(
            "wemaster_intents_oldest_age_seconds",
            "Seconds since the oldest unresolved intent was last touched (0 when none)",
            ["kind", "status"],
            [(kind, status, age) for kind, status, _, _, age in rows],
        )
        if reading["max_connections"] is not None:
            yield _gauge(
                "wemaster_db_connections",
                "Client connections to the primary's database, by state (pg_stat_activity)",
                ["state"],
                reading["connections"],
            )
            yield _gauge(
                "wemaster_db_max_connections", "The primary's max_connections", [], [(reading["max_connections"],)]
            )


# --- processes ------------------------------------------------------------------------------------
def process_role(cmdline: list[str]) -> str:
    text = " ".join(cmdline)
    for marker, role in (("granian", "web"), ("daphne", "websocket"), ("runserver", "web")):
        if marker in text:
            return role
    if "celery" in text:
        return "beat" if " beat" in text else "worker"
    return "other"


def process_readings() -> list[tuple[int, str, float, int]]:
    """(pid, role, CPU seconds, resident bytes) of every live process that writes metrics: the
    pids of the multiprocess directory, or this process alone without one."""
    import psutil

    path = metrics.multiprocess_dir()
    pids = metrics.process_ids(path) if path else set()
    pids.add(os.getpid())
    readings = []
    for pid in sorted(pids):
        try:
            process = psutil.Process(pid)
            with process.oneshot():
                times = process.cpu_times()
                readings.append(
                    (pid, process_role(process.cmdline()), times.user + times.system, process.memory_info().rss)
                )
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return readings


class ProcessCollector(ScrapeCollector):
    name = "processes"

    def read(self):
        return process_readings()

    def families(self, reading):
        cpu = CounterMetricFamily(
            "wemaster_process_cpu_seconds",
            "CPU time (user + system) of a live process writing metrics",
            labels=["role", "pid"],
        )
        rss = GaugeMetricFamily(
            "wemaster_process_resident_memory_bytes", "Resident memory of a live process", labels=["role", "pid"]
        )
        for pid, role, seconds, resident in reading:
            cpu.add_metric([role, str(pid)], seconds)
            rss.add_metric([role, str(pid)], resident)
        yield cpu
        yield rss


class ScrapeTimeSeries:
    """The collector /metrics registers: every enabled scrape-time collector's families, and one
    `wemaster_collector_up` family saying which could read its source."""

    def __init__(self, *collectors: ScrapeCollector):
        self.collectors = collectors

    def collect(self):
        up = GaugeMetricFamily(
            "wemaster_collector_up", "1 when a scrape-time collector could read its source", labels=["collector"]
        )
        families = []
        for collector in self.collectors:
            if not collector.enabled():
                continue
            reading, error = collector.current()
            up.add_metric([collector.name], 0 if error else 1)
            if error is None:
                families.extend(collector.families(reading))
        yield up
        yield from families


celery_queues = CeleryQueueCollector()
database = DatabaseCollector()
processes = ProcessCollector()
SCRAPE_TIME_SERIES = ScrapeTimeSeries(celery_queues, database, processes)
