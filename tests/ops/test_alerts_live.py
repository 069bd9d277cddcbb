"""The alert rules against the real thing: Debian's Prometheus scrapes a live production topology
(nginx, two granian workers, two daphne processes, a Celery worker, a throwaway Redis) every
second with deploy/prometheus/'s scrape config and rules (each `for:` at 0s). A payout the Celery
worker makes shows in the same scrape as the web workers' requests; stopping Redis fires
WemasterCacheBreakerOpen; starting it again resolves it."""

import json
import shutil
import threading
import time
import urllib.error
import urllib.request
import uuid

import pytest

from earnings import services as earnings
from reliability.live import LiveSystem
from tests.accounts.factories import token_for
from tests.earnings.conftest import fund_available
from tests.lessons.factories import tutor_teaching
from tests.ops.prometheus import PrometheusServer, dashboard_queries, grafana_to_promql, rules_without_waiting
from tests.reliability.conftest import live_database_url, require_live

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(300)]

ALERT = "WemasterCacheBreakerOpen"


@pytest.fixture
def live_system(transactional_db):
    require_live()
    if shutil.which("prometheus") is None:
        pytest.skip("prometheus is missing: `make system-deps` installs Debian's prometheus package")
    url, _, _ = live_database_url()
    # A breaker probes Redis again one second after it opened, so it closes soon after Redis is back.
    system = LiveSystem(url, celery_concurrency=1, extra_env={"CACHE_BREAKER_COOLDOWN_SECONDS": "1"}).start()
    yield system
    system.stop()


class Readers:
    """Anonymous clients reading the tutor directory through nginx, each request a new cache key,
    so every web worker keeps calling Redis (and its breaker notices when Redis is gone)."""

    def __init__(self, base_url: str, threads: int = 4):
        self.base_url = base_url
        self.stopping = threading.Event()
        self.statuses: list[int] = []
        self.threads = [threading.Thread(target=self._read, args=(n,), daemon=True) for n in range(threads)]

    def _read(self, offset: int) -> None:
        n = offset
        while not self.stopping.is_set():
            n += len(self.threads)
            try:
                with urllib.request.urlopen(f"{self.base_url}/api/v1/tutors?min_rate={n}", timeout=10) as response:
                    self.statuses.append(response.status)
            except urllib.error.HTTPError as exc:
                self.statuses.append(exc.code)
            except OSError:
                self.statuses.append(0)
            time.sleep(0.02)

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=15)


def _rules_evaluated_without_error(prometheus: PrometheusServer) -> bool:
    rules = [rule for group in prometheus.api("rules")["groups"] for rule in group["rules"]]
    return bool(rules) and all(rule["health"] == "ok" for rule in rules)


def _withdraw(base_url: str, *, token: str, payout_method: int) -> None:
    request = urllib.request.Request(
        f"{base_url}/api/v1/earnings/withdrawals",
        data=json.dumps({"amount": "20.00", "payout_method": payout_method}).encode(),
        headers={
            "Authorization": f"Token {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": str(uuid.uuid4()),
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201


def test_prometheus_sees_the_worker_and_the_breaker_alert_fire_and_resolve(live_system):
    system = live_system
    tutor = tutor_teaching()
    fund_available(tutor, 10_000)
    method = earnings.payout_method_add(tutor=tutor, token="btok_ok")
    token = token_for(tutor)
    prometheus = PrometheusServer(
        target=f"127.0.0.1:{system.topology.ports['proxy']}",
        token=system.topology.metrics_token,
        rules=rules_without_waiting(),
        log_path=system.log_dir / "prometheus.log",
    ).start()
    try:
        with Readers(system.url) as readers:
            # Prometheus scrapes the topology's /metrics with the token, and every rule evaluates.
            assert prometheus.wait(lambda: prometheus.query('up{job="wemaster"} == 1'), timeout=30)
            assert prometheus.wait(lambda: _rules_evaluated_without_error(prometheus), timeout=15)
            assert prometheus.wait(lambda: prometheus.query("max(wemaster_cache_breaker_state) == 0"), timeout=15)
            assert prometheus.alerts(ALERT, "firing") == prometheus.alerts(ALERT, "pending") == []
            for title, expr in dashboard_queries():  # the dashboard's queries run against real series
                try:
                    prometheus.query(grafana_to_promql(expr, "30s"))
                except urllib.error.HTTPError as exc:
                    pytest.fail(f"dashboard panel {title!r}: {exc.read().decode()}")
            assert prometheus.query("sum(wemaster_process_cpu_seconds_total) > 0"), "no process CPU series"
            # The Celery worker pays a withdrawal; its counter is in the scrape of the web workers.
            _withdraw(system.url, token=token, payout_method=method.pk)
            assert prometheus.wait(lambda: prometheus.query('wemaster_payouts_total{outcome="paid"} == 1'), timeout=30)

            stopped = time.monotonic()
            system.redis.stop()
            firing = prometheus.wait(lambda: prometheus.alerts(ALERT), timeout=30)
            fired_after = time.monotonic() - stopped
            assert firing, f"{ALERT} did not fire within 30 s of Redis stopping"
            [alert] = firing
            assert alert["labels"]["severity"] == "page"
            assert alert["labels"]["breaker"].startswith("redis:")
            assert alert["annotations"]["runbook_url"] == f"docs/OPERATIONS.md#{ALERT.lower()}"
            assert 500 not in readers.statuses  # the readers kept being served from the database

            system.redis.start()
            restarted = time.monotonic()
            resolved = prometheus.wait(
                lambda: not prometheus.alerts(ALERT, "firing") and not prometheus.alerts(ALERT, "pending"), timeout=30
            )
            resolved_after = time.monotonic() - restarted
            assert resolved, f"{ALERT} still active 30 s after Redis came back"
            assert prometheus.query("max(wemaster_cache_breaker_state) == 0")
        print(f"\n{ALERT}: fired {fired_after:.1f} s after Redis stopped, resolved {resolved_after:.1f} s after")
    finally:
        prometheus.stop()
