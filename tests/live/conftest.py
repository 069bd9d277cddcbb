"""One production topology (`deploy/Procfile`: nginx, granian, two daphne processes, a
Celery worker) per test session of this package, on a scratch PostgreSQL database
migrated for the run and a throwaway Redis server. Tests talk to it as real clients do."""

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from django.conf import settings

from bench.topology import ROOT, RedisServer, Topology, free_ports

ARTIFACTS = ROOT / "test-artifacts"


@dataclass
class Live:
    topology: Topology
    database_url: str
    data: dict

    @property
    def base_url(self) -> str:
        return self.topology.public_url

    def sql(self, query: str, *params):
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            return conn.execute(query, params).fetchall()

    def request(self, method: str, path: str, *, token: str | None = None, body=None, headers=None):
        """(status, parsed JSON body) of one request through the public origin."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.base_url}{path}", data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Token {token}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                raw, status = response.read(), response.status
        except urllib.error.HTTPError as exc:
            raw, status = exc.read(), exc.code
        return status, (json.loads(raw) if raw else None)


def _scratch_url(name: str) -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{name}"))


def _admin_sql(statement: str) -> None:
    with psycopg.connect(_scratch_url("postgres"), autocommit=True) as conn:
        conn.execute(statement)


@pytest.fixture(scope="package")
def live(django_db_blocker):
    if not settings.USING_POSTGRES or not os.environ.get("DATABASE_URL"):
        pytest.skip("the live topology needs PostgreSQL: set DATABASE_URL (CI does)")
    for binary, hint in (("nginx", "make system-deps"), ("redis-server", "apt-get install redis-server")):
        if shutil.which(binary) is None:
            pytest.skip(f"{binary} is not installed (`{hint}`; .ci/run installs it)")
    name = f"{urlsplit(os.environ['DATABASE_URL']).path.lstrip('/')}_live"
    database_url = _scratch_url(name)
    ARTIFACTS.mkdir(exist_ok=True)
    with django_db_blocker.unblock():
        _admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _admin_sql(f'CREATE DATABASE "{name}"')
    redis = RedisServer().start()
    topology = Topology(
        database_url,
        redis.url,
        processes=("proxy", "web", "ws1", "ws2", "worker"),
        ports=free_ports(),
        extra_env={
            "CHAT_CONSOLE_ENABLED": "on",
            "RATE_LIMITS": "off",
            "CELERY_CONCURRENCY": "1",
            "EARNINGS_PAYOUT_RETRY_BACKOFF_SECONDS": "0",
        },
        log_path=ARTIFACTS / "live-topology.log",
    )
    try:
        topology.manage("migrate", "--noinput", "-v0")
        scenario = subprocess.run(
            [sys.executable, "-m", "tests.live.scenarios"],
            cwd=ROOT,
            env=topology.env(),
            check=True,
            capture_output=True,
            text=True,
        )
        data = json.loads(scenario.stdout.strip().splitlines()[-1])
        started = time.monotonic()
        topology.start()
        print(f"\nlive topology up in {time.monotonic() - started:.1f}s (log: {topology.log_path})")
        yield Live(topology=topology, database_url=database_url, data=data)
    finally:
        topology.stop()
        redis.stop()
        with django_db_blocker.unblock():
            _admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
