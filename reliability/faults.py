"""Faults injected into a live system while the workload runs. Each returns a `FaultWindow`
(from injection until the system answered again) so the report can count the requests that
failed inside it.

  web_worker_kill   kill -9 one granian worker; granian respawns it (--respawn-failed-workers)
  web_worker_kill_after_charge
                    kill -9 the granian worker serving a top-up that the provider has charged
                    while our intent is still pending (the answer is on its way back)
  celery_kill       kill -9 the Celery worker's process group while payouts are in flight,
                    then start a new worker (acks_late: unacknowledged payout tasks come back)
  redis_restart     kill the throwaway Redis (cache, broker, channel layer, queued tasks gone)
                    and start an empty one on the same port
  pg_terminate      pg_terminate_backend() every connection of the application's database
"""

import os
import random
import signal
import time
from dataclasses import dataclass

import psutil
import psycopg

from bench.topology import RedisServer, wait_for
from reliability.live import APPLICATION_NAME, LiveSystem, wait_until


@dataclass
class FaultWindow:
    name: str
    started: float
    ended: float
    detail: str = ""
    top_ups: tuple[int, ...] = ()  # top-ups charged at the provider and pending with us at the kill


# granian exits altogether ("worker crash loop detected") when a worker dies within 5.5 s of its
# respawn, so a fault only kills a worker older than this (under `make serve`, honcho would then
# stop the whole topology; in production the supervisor restarts granian).
GRANIAN_CRASH_LOOP_SECONDS = 6.0


def settled_workers(system: LiveSystem) -> list[int]:
    """The granian workers that have run for longer than GRANIAN_CRASH_LOOP_SECONDS."""
    now = time.time()
    pids = []
    for pid in system.granian_workers():
        try:
            if now - psutil.Process(pid).create_time() > GRANIAN_CRASH_LOOP_SECONDS:
                pids.append(pid)
        except psutil.NoSuchProcess:
            continue
    return pids


def web_worker_kill(system: LiveSystem) -> FaultWindow:
    started = time.monotonic()
    workers = system.granian_workers()
    wait_until(lambda: settled_workers(system), timeout=GRANIAN_CRASH_LOOP_SECONDS + 5)
    victim = random.choice(settled_workers(system) or workers)
    os.kill(victim, signal.SIGKILL)
    wait_until(lambda: len(set(system.granian_workers()) - {victim}) >= len(workers), timeout=30)
    wait_for(f"{system.url}/healthz", timeout=30)
    return FaultWindow("web_worker_kill", started, time.monotonic(), f"killed granian worker {victim}")


# A student top-up charged at the provider, still pending with us, and the live connection that
# holds its request's Idempotency-Key (a session advisory lock keyed by the student's id, taken
# for the request outside any transaction: the connection is idle while the provider answers).
_CHARGED_NOT_SETTLED = """
SELECT t.id, a.client_port
FROM wallet_topup t
JOIN wallet_wallet w ON w.id = t.wallet_id
JOIN payments_sandbox_record r ON r.kind = 'charge' AND r.idem_key = t.provider_key AND r.status = 'succeeded'
JOIN pg_locks l ON l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 AND l.classid::bigint = w.student_id
JOIN pg_stat_activity a ON a.pid = l.pid AND a.application_name = %s AND a.state = 'idle'
WHERE t.status = 'pending' AND t.origin = 'student'
LIMIT 1
"""


def web_worker_kill_after_charge(system: LiveSystem, *, timeout: float = 15.0) -> FaultWindow:
    """Wait for a top-up between the provider's charge and our settlement, then kill -9 the web
    worker serving it (found by its database connection's port). The client's retry with the
    same key, or the resolver asking the provider by key, must credit it exactly once."""
    started = time.monotonic()
    workers = system.granian_workers()
    caught = _charged_top_up_in_flight(system, deadline=started + timeout)
    if caught is None:
        return FaultWindow("web_worker_kill_after_charge", started, time.monotonic(), "no top-up caught in flight")
    top_up_id, victim = caught
    os.kill(victim, signal.SIGKILL)
    wait_until(lambda: len(set(system.granian_workers()) - {victim}) >= len(workers), timeout=30)
    wait_for(f"{system.url}/healthz", timeout=30)
    detail = f"killed granian worker {victim} after the provider charged top-up {top_up_id}"
    return FaultWindow("web_worker_kill_after_charge", started, time.monotonic(), detail, (top_up_id,))


def _charged_top_up_in_flight(system: LiveSystem, *, deadline: float) -> tuple[int, int] | None:
    """(top-up id, pid of the web worker serving it) as soon as one is charged and not settled."""
    from django.db import connection

    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(_CHARGED_NOT_SETTLED, [APPLICATION_NAME])
            row = cursor.fetchone()
        victim = row and _worker_with_port(system, row[1])
        if victim:
            return row[0], victim
        time.sleep(0.005)
    return None


def _worker_with_port(system: LiveSystem, port: int) -> int | None:
    """The settled granian worker whose TCP connection has this local port (its database connection)."""
    for pid in settled_workers(system):
        try:
            if any(conn.laddr and conn.laddr.port == port for conn in psutil.Process(pid).net_connections("tcp")):
                return pid
        except psutil.NoSuchProcess:
            continue
    return None


def celery_kill(system: LiveSystem, *, in_flight=None, down_for: float = 2.0) -> FaultWindow:
    """`in_flight()` tells whether payouts are in flight; the kill waits (up to 10 s) for one."""
    if in_flight is not None:
        wait_until(in_flight, timeout=10, interval=0.05)
    started = time.monotonic()
    with system.lock:  # the supervisor must not restart it before `down_for` has passed
        system.managed["worker"].kill9()
        time.sleep(down_for)
        system.start_process("worker")
    return FaultWindow("celery_kill", started, time.monotonic(), f"worker down {down_for:.0f} s, restarted")


def redis_restart(system: LiveSystem, *, down_for: float = 2.0) -> FaultWindow:
    started = time.monotonic()
    system.redis.stop()
    time.sleep(down_for)
    system.redis = RedisServer(port=system.redis.port).start()
    wait_until(lambda: _ready(system), timeout=10)
    return FaultWindow("redis_restart", started, time.monotonic(), f"Redis down {down_for:.0f} s, restarted empty")


def pg_terminate(system: LiveSystem, admin_url: str, database: str) -> FaultWindow:
    """Every connection the live processes hold (web workers, ASGI, Celery), not the checker's."""
    started = time.monotonic()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        killed = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %s AND application_name = %s AND pid <> pg_backend_pid()",
            [database, APPLICATION_NAME],
        ).fetchone()[0]
    wait_until(lambda: _ready(system), timeout=10)
    return FaultWindow("pg_terminate", started, time.monotonic(), f"terminated {killed} connections")


def _ready(system: LiveSystem) -> bool:
    try:
        wait_for(f"{system.url}/readyz", timeout=1)
    except TimeoutError:
        return False
    return True


def failures_in(window: FaultWindow, operations, *, grace: float = 2.0) -> dict:
    """Attempts without a final answer (no response, 5xx, 409 in_use) inside the window."""
    from reliability.client import RETRYABLE_CODES

    attempts = failed = 0
    affected = set()
    for op in operations:
        for attempt in op.attempts:
            if window.started <= attempt.at <= window.ended + grace:
                attempts += 1
                bad = attempt.status is None or attempt.status >= 500
                if attempt.status == 409 and attempt.error in RETRYABLE_CODES:
                    bad = True
                if bad:
                    failed += 1
                    affected.add(id(op))
    return {"attempts": attempts, "failed_attempts": failed, "operations_retried": len(affected)}
