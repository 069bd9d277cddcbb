"""Celery on RabbitMQ (CELERY_BROKER_URL=amqp://...): a real worker pays a withdrawal, and a worker
killed with SIGKILL mid-payout loses nothing and pays nothing twice.

Each run has a vhost of its own (conftest.py). Producer and workers take their configuration from
the settings computed with CELERY_BROKER_URL set to it; the worker processes are
`celery -A wemaster worker` on the test database (committed data: transactional tests)."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psutil
import psycopg
import pytest
from celery import Celery
from django.db import connection

import earnings.tasks  # noqa: F401 - registers the payout task with the app under test
from earnings import services
from earnings.models import Withdrawal, WithdrawalStatus
from tests.earnings.conftest import balance, fund_available
from tests.lessons.factories import tutor_teaching
from tests.scale.redis.environment import celery_config, settings_from_environment
from wemaster.celery import app as project_app
from wemaster.core.payments import get_gateway
from wemaster.ledger.models import AccountKind, Transfer, TransferKind
from wemaster.ledger.reconcile import find_discrepancies

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[3]
AMOUNT = 4_000
# The sandbox provider sleeps this long before it records a payout: the window in which the test
# takes the withdrawal's row lock, so the worker's settlement waits behind it.
PROVIDER_LATENCY_MS = 1500


def wait_for(predicate, timeout: float = 30.0, what: str = "condition") -> float:
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{what} not reached within {timeout} s")
        time.sleep(0.05)
    return time.monotonic() - started


@pytest.fixture
def rabbitmq_app(rabbitmq_url):
    """A Celery app configured as a process with CELERY_BROKER_URL=<the run's vhost> would be,
    made current so the services' tasks publish through it."""
    configured = settings_from_environment(CELERY_BROKER_URL=rabbitmq_url)
    app = Celery("wemaster_rabbitmq_test", set_as_current=False)
    app.conf.update(celery_config(configured))
    assert app.conf.broker_url == rabbitmq_url and app.conf.task_always_eager is False
    app.set_current()
    yield app
    project_app.set_current()
    app.close()


def payout_for(tutor) -> Withdrawal:
    fund_available(tutor, 10_000)
    method = services.payout_method_add(tutor=tutor, token="btok_ok")
    return services.withdrawal_request(tutor=tutor, amount=AMOUNT, payout_method_id=method.pk)


def status(withdrawal) -> str:
    return Withdrawal.objects.get(pk=withdrawal.pk).status


def assert_paid_exactly_once(withdrawal, tutor) -> None:
    withdrawal.refresh_from_db()
    assert withdrawal.status == WithdrawalStatus.PAID
    (payout,) = get_gateway().records(kind="payout")
    assert (payout.key, payout.status, payout.amount) == (withdrawal.provider_key, "succeeded", AMOUNT)
    assert Transfer.objects.filter(kind=TransferKind.PAYOUT, reference=withdrawal.gateway_key).count() == 1
    assert (balance(tutor, AccountKind.TUTOR_AVAILABLE), balance(tutor, AccountKind.PAYOUT_CLEARING)) == (6_000, 0)
    assert find_discrepancies() == []


# --- worker processes ---------------------------------------------------------------------------


def database_url_of_the_test() -> str:
    """DATABASE_URL naming the test database, for processes that must see what the test commits."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{connection.settings_dict['NAME']}"))


class WorkerProcess:
    """`celery -A wemaster worker` (prefork, one child) in its own process group, as deploy/Procfile
    runs it, on the run's vhost and the test database, logging to a file."""

    def __init__(self, broker_url: str, log_dir: Path):
        self.broker_url = broker_url
        self.log = log_dir / f"worker-{uuid.uuid4().hex[:6]}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> "WorkerProcess":
        env = {
            **os.environ,
            "DATABASE_URL": database_url_of_the_test(),
            "CELERY_BROKER_URL": self.broker_url,
            "PAYMENT_SANDBOX_LATENCY_MS": str(PROVIDER_LATENCY_MS),
            "EARNINGS_PAYOUT_RETRY_BACKOFF_SECONDS": "0",
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("CELERY_TASK_ALWAYS_EAGER", None)
        command = [sys.executable, "-m", "celery", "-A", "wemaster", "worker", "--loglevel", "INFO"]
        command += ["--concurrency", "1", "--without-gossip", "--without-mingle", "-n", f"{self.log.stem}@%h"]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_for(lambda: " ready." in self.log.read_text(errors="replace"), timeout=60, what="worker ready")
        return self

    def pool_child(self) -> psutil.Process:
        (child,) = psutil.Process(self.process.pid).children()
        return child

    def kill(self) -> None:
        """SIGKILL the whole worker (parent and pool child), like a machine that dies."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def workers(rabbitmq_app, tmp_path):
    """Start worker processes with `workers()`; all are stopped after the test."""
    started: list[WorkerProcess] = []

    def start() -> WorkerProcess:
        started.append(WorkerProcess(rabbitmq_app.conf.broker_url, tmp_path).start())
        return started[-1]

    yield start
    for worker in started:
        worker.stop()


def test_a_worker_on_rabbitmq_pays_a_withdrawal(workers):
    tutor = tutor_teaching()
    workers()
    withdrawal = payout_for(tutor)
    seconds = wait_for(lambda: status(withdrawal) == WithdrawalStatus.PAID, what="payout")
    print(f"\npaid through RabbitMQ {seconds:.2f} s after the request (provider latency {PROVIDER_LATENCY_MS} ms)")
    assert_paid_exactly_once(withdrawal, tutor)


def hold_settlement(withdrawal) -> psycopg.Connection:
    """Once the payout attempt is committed, take the withdrawal's row lock in a connection of the
    test's own: the worker calls the provider, then its settlement waits for the lock."""
    wait_for(
        lambda: Withdrawal.objects.filter(pk=withdrawal.pk, status=WithdrawalStatus.PROCESSING, attempts=1).exists(),
        what="payout attempt committed",
    )
    holder = psycopg.connect(database_url_of_the_test())
    holder.execute("SELECT id FROM earnings_withdrawal WHERE id = %s FOR UPDATE", [withdrawal.pk])
    return holder


def settlement_waits_for_the_lock() -> bool:
    with psycopg.connect(database_url_of_the_test(), autocommit=True) as conn:
        (waiting,) = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE %s",
            ['%FROM "earnings_withdrawal"%FOR NO KEY UPDATE%'],
        ).fetchone()
    return waiting > 0


def provider_paid(withdrawal) -> bool:
    return any(record.key == withdrawal.provider_key for record in get_gateway().records(kind="payout"))


def test_a_worker_killed_between_the_provider_call_and_settlement_pays_exactly_once(workers, tmp_path):
    tutor = tutor_teaching()
    first = workers()
    withdrawal = payout_for(tutor)
    holder = hold_settlement(withdrawal)
    try:
        wait_for(lambda: provider_paid(withdrawal), what="provider payout")
        wait_for(settlement_waits_for_the_lock, what="settlement blocked on the row lock")
        first.kill()
        killed_at = time.monotonic()
    finally:
        holder.rollback()
        holder.close()
    assert status(withdrawal) == WithdrawalStatus.PROCESSING  # paid at the provider, not settled

    workers()  # RabbitMQ gave the unacknowledged task back when the dead worker's connection closed
    wait_for(lambda: status(withdrawal) == WithdrawalStatus.PAID, timeout=60, what="payout settled")
    print(f"\nkill -9 mid-payout: paid once, settled {time.monotonic() - killed_at:.2f} s after the kill")
    assert_paid_exactly_once(withdrawal, tutor)
    assert Withdrawal.objects.get(pk=withdrawal.pk).attempts == 2


@pytest.mark.scale_full
def test_a_killed_pool_child_has_its_payout_requeued_to_the_same_worker(workers):
    """task_reject_on_worker_lost: the prefork parent gives back the task of a child that died
    (with acks_late alone it would be acknowledged as failed and wait for the requeue sweep)."""
    tutor = tutor_teaching()
    worker = workers()
    child = worker.pool_child()
    withdrawal = payout_for(tutor)
    holder = hold_settlement(withdrawal)
    try:
        wait_for(lambda: provider_paid(withdrawal), what="provider payout")
        wait_for(settlement_waits_for_the_lock, what="settlement blocked on the row lock")
        child.kill()
        killed_at = time.monotonic()
    finally:
        holder.rollback()
        holder.close()
    wait_for(lambda: status(withdrawal) == WithdrawalStatus.PAID, timeout=60, what="payout settled")
    print(f"\npool child killed mid-payout: paid once, {time.monotonic() - killed_at:.2f} s after the kill")
    assert worker.process.poll() is None
    assert_paid_exactly_once(withdrawal, tutor)
