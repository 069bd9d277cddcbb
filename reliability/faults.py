"""Faults injected into a live system while the workload runs. Each returns a `FaultWindow`
(from injection until the system answered again) so the report can count the requests that
failed inside it.

  web_worker_kill   kill -9 one granian worker; granian respawns it (--respawn-failed-workers)
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

import psycopg

from bench.topology import RedisServer, wait_for
from reliability.live import APPLICATION_NAME, LiveSystem, wait_until


@dataclass
class FaultWindow:
    name: str
    started: float
    ended: float
    detail: str = ""


def web_worker_kill(system: LiveSystem) -> FaultWindow:
    started = time.monotonic()
    workers = system.granian_workers()
    victim = random.choice(workers)
    os.kill(victim, signal.SIGKILL)
    wait_until(lambda: len(set(system.granian_workers()) - {victim}) >= len(workers), timeout=30)
    wait_for(f"{system.url}/healthz", timeout=30)
    return FaultWindow("web_worker_kill", started, time.monotonic(), f"killed granian worker {victim}")


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
