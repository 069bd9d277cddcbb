"""What the PostgreSQL scale tests do through the API, and how they watch the router."""

import itertools
import time
import uuid

from rest_framework.test import APIClient

from wemaster.core import metrics
from wemaster.core.replica_monitor import monitor, replica_for_read

REPLICA = "replica_0"
PASSWORD = "a-long-passphrase-2026"
_names = itertools.count(1)


class Account:
    def __init__(self, *, id: int, email: str, token: str):
        self.id = id
        self.email = email
        self.token = token

    def client(self) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {self.token}")
        return client


def register(role: str = "student") -> Account:
    email = f"scale-{uuid.uuid4().hex[:12]}@example.com"
    response = APIClient().post(
        "/api/v1/auth/register",
        {"email": email, "password": PASSWORD, "role": role, "display_name": f"Scale {next(_names)}"},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    return Account(id=body["id"], email=email, token=body["token"])


def replica_reads() -> float:
    return metrics.replica_reads.labels(REPLICA)._value.get()


def primary_reads(reason: str) -> float:
    return metrics.primary_reads.labels(reason)._value.get()


def wait_until(condition, *, timeout: float, step: float = 0.02, what: str = "condition") -> float:
    """Seconds until `condition()` held; fails after `timeout`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what} not reached within {timeout} s")
        time.sleep(step)
    return time.monotonic() - started


def replica_usable() -> bool:
    return replica_for_read([REPLICA], floor=0, preferred=None)[0] == REPLICA


def wait_replica_usable(timeout: float = 15.0) -> float:
    monitor.ensure_running()
    return wait_until(replica_usable, timeout=timeout, what="replica usable")


def timed(call) -> tuple[float, object]:
    started = time.monotonic()
    result = call()
    return time.monotonic() - started, result


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]
