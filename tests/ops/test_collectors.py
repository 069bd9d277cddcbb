"""The series added for operations: read at scrape time (queue depth, intents, connections,
processes), counted where things happen (payouts, websockets, SQL per request), and the
multiprocess bookkeeping that keeps live gauges to live processes."""

import os
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from kombu import Connection
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from bench.topology import ROOT
from earnings import services as earnings
from tests.accounts.factories import StudentFactory, token_for
from tests.earnings.conftest import fund_available
from tests.lessons.factories import tutor_teaching
from tests.wallet.factories import PaymentMethodFactory, wallet_for
from wallet.models import TopUp, TopUpStatus
from wemaster.celery import app as celery_app
from wemaster.core import metrics, metrics_collectors


def value(name: str, **labels) -> float:
    """The value a fresh /metrics of this process shows (0 without such a sample)."""
    from wemaster.core.metrics_view import exposition

    for collector in metrics_collectors.SCRAPE_TIME_SERIES.collectors:
        collector.forget()
    return sum(
        sample.value
        for family in text_string_to_metric_families(exposition().decode())
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


# --- counted where it happens -------------------------------------------------------------------
def _withdrawal(token: str) -> int:
    tutor = tutor_teaching()
    fund_available(tutor, 10_000)
    method = earnings.payout_method_add(tutor=tutor, token=token)
    return earnings.withdrawal_request(tutor=tutor, amount=5_000, payout_method_id=method.pk).pk


@pytest.mark.django_db
def test_payouts_are_counted_by_outcome():
    def counts():
        return {
            outcome: REGISTRY.get_sample_value("wemaster_payouts_total", {"outcome": outcome})
            for outcome in metrics.PAYOUT_OUTCOMES
        }

    before = counts()
    paid, refused, at_the_bank = _withdrawal("btok_ok"), _withdrawal("btok_fail"), _withdrawal("btok_flaky")
    assert earnings.withdrawal_pay_out(withdrawal_id=paid) == earnings.PayoutOutcome.PAID
    assert earnings.withdrawal_pay_out(withdrawal_id=refused) == earnings.PayoutOutcome.FAILED
    assert earnings.withdrawal_pay_out(withdrawal_id=at_the_bank) == earnings.PayoutOutcome.RETRY
    # A repeated call for a settled withdrawal is no attempt.
    assert earnings.withdrawal_pay_out(withdrawal_id=paid) == earnings.PayoutOutcome.ALREADY_DONE
    after = counts()
    assert {outcome: after[outcome] - before[outcome] for outcome in after} == {"paid": 1, "failed": 1, "pending": 1}


@pytest.mark.django_db(transaction=True)
def test_open_websockets_are_counted_once_each(settings):
    settings.ALLOWED_HOSTS = ["localhost"]
    from wemaster.asgi import application

    user = StudentFactory()
    key = token_for(user)

    async def scenario():
        opened = []
        for _ in range(2):
            communicator = WebsocketCommunicator(
                application, f"/ws/chat/?token={key}", headers=[(b"origin", b"http://localhost")]
            )
            assert (await communicator.connect(timeout=3))[0]
            opened.append(communicator)
        refused = WebsocketCommunicator(
            application, "/ws/chat/?token=wrong", headers=[(b"origin", b"http://localhost")]
        )
        # A refused handshake is accepted and closed with 4401 (readable by every client), uncounted.
        assert (await refused.connect(timeout=3))[0]
        assert await refused.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}
        during = REGISTRY.get_sample_value("wemaster_websocket_connections")
        for communicator in opened:
            await communicator.disconnect()
        return during

    before = REGISTRY.get_sample_value("wemaster_websocket_connections")
    assert async_to_sync(scenario)() == before + 2
    assert REGISTRY.get_sample_value("wemaster_websocket_connections") == before


@pytest.mark.django_db
def test_each_request_observes_the_sql_it_ran(api_client, student, client_for):
    client = client_for(student)

    def observed(name):
        return REGISTRY.get_sample_value(f"{name}_count") or 0, REGISTRY.get_sample_value(f"{name}_sum") or 0

    queries, seconds = observed("wemaster_http_request_db_queries"), observed("wemaster_http_request_db_seconds")
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/api/v1/conversations").status_code == 200
    ran = len(captured)  # read now: the next request resets the connection's query log
    assert ran >= 1
    assert api_client.get("/api/v1/ping").status_code == 200  # no SQL at all: observed as 0
    after = observed("wemaster_http_request_db_queries")
    assert (after[0] - queries[0], after[1] - queries[1]) == (2, ran)
    after = observed("wemaster_http_request_db_seconds")
    assert after[0] - seconds[0] == 2 and after[1] > seconds[1]


# --- read at scrape time ---------------------------------------------------------------------------
def _old(rows, seconds: int) -> None:
    type(rows[0]).objects.filter(pk__in=[row.pk for row in rows]).update(
        updated_at=timezone.now() - timedelta(seconds=seconds)
    )


@pytest.mark.django_db
def test_unresolved_intents_counts_overdue_and_ages_in_one_query(django_assert_num_queries):
    wallet = wallet_for()
    method = PaymentMethodFactory(wallet=wallet)

    def top_up(status):
        return TopUp.objects.create(
            wallet=wallet, payment_method=method, amount=1_000, currency=settings.CURRENCY, status=status
        )

    top_up(TopUpStatus.PENDING)
    stuck = top_up(TopUpStatus.PENDING)
    processing = top_up(TopUpStatus.PROCESSING)
    top_up(TopUpStatus.FAILED)  # settled: not counted
    _old([stuck], settings.PAYMENTS_UNRESOLVED_REPORT_AFTER_SECONDS + 60)
    _old([processing], 30)
    _withdrawal("btok_ok")
    with django_assert_num_queries(1):
        rows = metrics_collectors.unresolved_intents()
    by_key = {(kind, status): (count, overdue, round(age)) for kind, status, count, overdue, age in rows}
    overdue_age = settings.PAYMENTS_UNRESOLVED_REPORT_AFTER_SECONDS + 60
    assert by_key[("top_up", "pending")][:2] == (2, 1)
    assert abs(by_key[("top_up", "pending")][2] - overdue_age) <= 5
    assert by_key[("top_up", "processing")][:2] == (1, 0)
    assert by_key[("withdrawal", "requested")][:2] == (1, 0)
    assert set(by_key) == {("top_up", "pending"), ("top_up", "processing"), ("withdrawal", "requested")}


@pytest.mark.django_db(transaction=True)
def test_metrics_report_intents_and_every_status_even_at_zero():
    wallet = wallet_for()
    method = PaymentMethodFactory(wallet=wallet)
    stuck = TopUp.objects.create(
        wallet=wallet, payment_method=method, amount=1_000, currency=settings.CURRENCY, status=TopUpStatus.PROCESSING
    )
    _old([stuck], settings.PAYMENTS_UNRESOLVED_REPORT_AFTER_SECONDS + 10)
    assert value("wemaster_collector_up", collector="database") == 1
    assert value("wemaster_intents_unresolved", kind="top_up", status="processing") == 1
    assert value("wemaster_intents_overdue", kind="top_up", status="processing") == 1
    assert value("wemaster_intents_oldest_age_seconds", kind="top_up", status="processing") >= 10
    # Statuses with nothing waiting are reported as 0, so an alert sees the count go back down.
    assert value("wemaster_intents_unresolved", kind="withdrawal", status="processing") == 0
    if settings.USING_POSTGRES:
        assert value("wemaster_db_connections") >= 1
        assert value("wemaster_db_max_connections") >= 1


def test_a_collector_slower_than_its_timeout_reports_down_without_holding_the_scrape(monkeypatch):
    class Slow(metrics_collectors.ScrapeCollector):
        name = "slow"

        def timeout(self):
            return 0.2

        def read(self):
            time.sleep(2)
            return {}

    slow = Slow()
    started = time.monotonic()
    reading, error = slow.current()
    assert time.monotonic() - started < 1.5
    assert reading is None and error is not None
    families = list(metrics_collectors.ScrapeTimeSeries(slow).collect())
    assert [(s.labels, s.value) for s in families[0].samples] == [({"collector": "slow"}, 0)]
    assert len(families) == 1


def test_process_readings_include_this_process():
    readings = {pid: (role, cpu, rss) for pid, role, cpu, rss in metrics_collectors.process_readings()}
    role, cpu, rss = readings[os.getpid()]
    assert cpu > 0 and rss > 10_000_000
    assert metrics_collectors.process_role(["granian", "--interface", "wsgi"]) == "web"
    assert metrics_collectors.process_role(["python", "-m", "celery", "-A", "wemaster", "beat"]) == "beat"
    assert metrics_collectors.process_role(["celery", "-A", "wemaster", "worker"]) == "worker"
    assert metrics_collectors.process_role(["daphne", "wemaster.asgi:application"]) == "websocket"


# --- Celery queue depth ---------------------------------------------------------------------------
@contextmanager
def celery_setting(name: str, value):
    previous = celery_app.conf[name]
    celery_app.conf[name] = value
    try:
        yield value
    finally:
        celery_app.conf[name] = previous


@pytest.fixture
def test_queue():
    """A queue of this test's own, the one the collector reads."""
    with celery_setting("task_default_queue", f"metrics-test-{uuid.uuid4().hex[:8]}") as name:
        yield name


def _publish(broker_url: str, queue: str, count: int) -> None:
    with Connection(broker_url) as conn:
        producer = conn.Producer()
        for n in range(count):
            producer.publish({"n": n}, routing_key=queue, declare=[conn.SimpleQueue(queue).queue])


def _purge(broker_url: str, queue: str) -> None:
    with Connection(broker_url) as conn:
        simple = conn.SimpleQueue(queue)
        simple.clear()
        simple.queue.delete()
        simple.close()


@pytest.mark.redis
def test_queue_depth_is_read_from_the_redis_broker(test_queue):
    broker = settings.CELERY_BROKER_URL
    assert metrics_collectors.celery_queue_depths()[test_queue] == 0  # not there yet: empty
    _publish(broker, test_queue, 3)
    try:
        assert metrics_collectors.celery_queue_depths() == {test_queue: 3}
        assert value("wemaster_celery_queue_depth", queue=test_queue) == 3
    finally:
        _purge(broker, test_queue)


def _rabbitmq_url() -> str | None:
    url = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return url if sock.connect_ex(("127.0.0.1", 5672)) == 0 else None


def test_queue_depth_is_read_from_rabbitmq(test_queue):
    url = _rabbitmq_url()
    if url is None:
        pytest.skip("RabbitMQ is not running on 127.0.0.1:5672 (.ci/run starts it when installed)")
    with celery_setting("broker_url", url):
        assert metrics_collectors.celery_queue_depths() == {test_queue: 0}  # never declared
        _publish(url, test_queue, 2)
        try:
            assert metrics_collectors.celery_queue_depths() == {test_queue: 2}
        finally:
            _purge(url, test_queue)


@pytest.mark.redis
def test_an_unreachable_broker_fails_fast_and_the_scrape_still_answers(unused_tcp_port, settings):
    with celery_setting("broker_url", f"redis://127.0.0.1:{unused_tcp_port}/0"):
        started = time.monotonic()
        assert value("wemaster_collector_up", collector="celery_queues") == 0
        assert time.monotonic() - started < 3 * settings.METRICS_BROKER_TIMEOUT_SECONDS + 2
        assert value("wemaster_celery_queue_depth") == 0


# --- the multiprocess directory -------------------------------------------------------------------
def _dead_pid() -> int:
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    return finished.pid


def test_dead_processes_live_gauges_are_reaped_and_their_counters_kept(tmp_path):
    dead, alive = _dead_pid(), os.getpid()
    names = [f"gauge_livesum_{dead}.db", f"gauge_livemax_{dead}.db", f"counter_{dead}.db", f"gauge_livesum_{alive}.db"]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    assert metrics.reap_dead_processes(str(tmp_path)) == [dead]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f"counter_{dead}.db", f"gauge_livesum_{alive}.db"])
    assert metrics.process_ids(str(tmp_path)) == {dead, alive}


EXITING_PROCESS = """
import multiprocessing, os, sys
import django
django.setup()
from wemaster.core import metrics

def open_a_socket():
    metrics.websocket_connections.inc()
    metrics.db_queries.labels("default").inc()
    print(os.getpid(), flush=True)

if sys.argv[1] == "child":  # like a granian worker: a multiprocessing child leaving through os._exit
    child = multiprocessing.get_context("fork").Process(target=open_a_socket)
    child.start()
    child.join()
else:  # like daphne: the interpreter exits
    open_a_socket()
"""


@pytest.mark.parametrize("how", ["interpreter", "child"])
def test_a_process_that_exits_drops_its_live_gauges(tmp_path, how):
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="wemaster.settings")
    done = subprocess.run(
        [sys.executable, "-c", EXITING_PROCESS, how], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    pid = int(done.stdout.split()[-1])
    files = {p.name for p in tmp_path.iterdir()}
    assert f"counter_{pid}.db" in files  # what it counted stays in the totals
    assert f"gauge_livesum_{pid}.db" not in files  # its open sockets are no longer open
