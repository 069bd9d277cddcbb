"""An HTTP client for the workload that behaves like a careful mobile app: every money-moving
POST carries an Idempotency-Key, and a request that times out, fails to connect, answers 5xx
or `409 idempotency_key_in_use` is sent again with the same key and body until it gets a final
answer or its retry budget runs out (then the operation is *indeterminate*, as in Jepsen, and
the checker resolves it by replaying its key once the system is healthy).

Every attempt is logged, so the report can count failed requests per fault window.
"""

import random
import threading
import time
import uuid
from dataclasses import dataclass, field

import requests

RETRYABLE_CODES = {"idempotency_key_in_use"}


@dataclass
class Attempt:
    at: float
    status: int | None  # None: no HTTP answer (connection refused, reset, timeout)
    error: str = ""  # the exception's name, or the answer's error code


@dataclass
class Operation:
    """One logical client operation and its final outcome."""

    name: str
    actor: int
    method: str
    path: str
    body: dict | None
    key: str | None
    started: float
    attempts: list[Attempt] = field(default_factory=list)
    status: int | None = None
    response: dict | list | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def indeterminate(self) -> bool:
        return self.status is None or self.status >= 500 or self.code in RETRYABLE_CODES

    @property
    def code(self) -> str | None:
        return self.response.get("code") if isinstance(self.response, dict) else None


class History:
    """Thread-safe log of every operation, in completion order."""

    def __init__(self):
        self._lock = threading.Lock()
        self.operations: list[Operation] = []

    def add(self, operation: Operation) -> None:
        with self._lock:
            self.operations.append(operation)

    def snapshot(self) -> list[Operation]:
        with self._lock:
            return list(self.operations)


class ApiClient:
    def __init__(
        self,
        base_url: str,
        token: str | None,
        history: History | None,
        *,
        actor: int = 0,
        timeout: float = 10.0,
        retry_budget: float = 45.0,
    ):
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Token {token}"
        self.history = history
        self.actor = actor
        self.timeout = timeout
        self.retry_budget = retry_budget

    def call(
        self, name: str, method: str, path: str, body: dict | None = None, *, key: str | None = None, idempotent=False
    ) -> Operation:
        """Send until a final answer. `idempotent=True` generates a fresh Idempotency-Key."""
        if idempotent and key is None:
            key = uuid.uuid4().hex
        operation = Operation(name, self.actor, method, path, body, key, time.monotonic())
        self._send(operation)
        if self.history is not None:
            self.history.add(operation)
        return operation

    def replay(self, operation: Operation) -> Operation:
        """Send an operation again with its own key (resolving an indeterminate one)."""
        self._send(operation)
        return operation

    def _send(self, operation: Operation) -> None:
        headers = {"Idempotency-Key": operation.key} if operation.key else {}
        deadline = time.monotonic() + self.retry_budget
        delay = 0.05
        retry_safe = operation.method == "GET" or operation.key is not None
        while True:
            try:
                response = self.session.request(
                    operation.method,
                    self.base_url + operation.path,
                    json=operation.body,
                    headers=headers,
                    timeout=self.timeout,
                )
            except requests.RequestException as exc:
                operation.attempts.append(Attempt(time.monotonic(), None, type(exc).__name__))
                operation.status, operation.response = None, None
            else:
                operation.attempts.append(Attempt(time.monotonic(), response.status_code))
                operation.status = response.status_code
                try:
                    operation.response = response.json() if response.content else None
                except ValueError:
                    operation.response = {"code": "not_json", "detail": response.text[:200]}
                operation.attempts[-1].error = operation.code or ""
            if not operation.indeterminate or not retry_safe or time.monotonic() + delay > deadline:
                return
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 1.0)
