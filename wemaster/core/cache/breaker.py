"""Circuit breaker for Redis, state in process memory (never in Redis itself).

Closed: calls go through; `CACHE_BREAKER_FAILURES` consecutive connection failures open it.
Open: calls are skipped at once (the caller treats them as misses) for
`CACHE_BREAKER_COOLDOWN_SECONDS`, then one probe call is let through (half-open).
The probe's success closes it, its failure opens it for another cool-down.

A breaker is "dirty" when a write may have been lost (a failed or skipped write, the
breaker opened, or Sentinel named a new master): tag bumps and cachalot invalidations
written during the outage never reached Redis, or died with the old master. The first
success after that runs the recovery hooks (bump the global cache epoch, invalidate
cachalot) so nothing cached before the outage is served.
"""

import logging
import threading
import time
from collections.abc import Callable

from django.conf import settings

from wemaster.core.cache import metrics

logger = logging.getLogger(__name__)

CLOSED, HALF_OPEN, OPEN = "closed", "half_open", "open"
_STATE_VALUE = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}


class CircuitBreaker:
    def __init__(self, name: str):
        self.name = name
        self._lock = threading.Lock()
        self._state = CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probe_in_flight = False
        self._dirty = False
        metrics.breaker_state.labels(name).set(0)

    @property
    def state(self) -> str:
        with self._lock:
            if self._state == OPEN and self._cooled_down():
                return HALF_OPEN
            return self._state

    def _cooled_down(self) -> bool:
        return time.monotonic() - self._opened_at >= settings.CACHE_BREAKER_COOLDOWN_SECONDS

    def _set_state(self, state: str) -> None:
        if state != self._state:
            logger.warning("cache breaker state change", extra={"breaker": self.name, "to": state})
            metrics.breaker_transitions.labels(self.name, state).inc()
            metrics.breaker_state.labels(self.name).set(_STATE_VALUE[state])
        self._state = state

    def allow(self) -> bool:
        """Whether a Redis call may be attempted now. In half-open state only one caller
        (the probe) gets True until it reports success or failure."""
        with self._lock:
            if self._state == CLOSED:
                return True
            if self._state == OPEN and self._cooled_down():
                self._set_state(HALF_OPEN)
            if self._state == HALF_OPEN and not self._probe_in_flight:
                self._probe_in_flight = True
                return True
            return False

    def record_success(self) -> bool:
        """Report a call that reached Redis. Returns True when recovery hooks must run
        (the caller runs them, outside the breaker's lock)."""
        with self._lock:
            if self._state == CLOSED and self._failures == 0 and not self._dirty:
                return False
            self._failures = 0
            self._probe_in_flight = False
            self._set_state(CLOSED)
            recover, self._dirty = self._dirty, False
            return recover

    def record_failure(self, *, write: bool) -> None:
        metrics.redis_errors.labels(self.name).inc()
        with self._lock:
            self._failures += 1
            self._dirty = self._dirty or write
            self._probe_in_flight = False
            if self._state == HALF_OPEN or self._failures >= settings.CACHE_BREAKER_FAILURES:
                self._opened_at = time.monotonic()
                self._dirty = True
                self._set_state(OPEN)

    def record_skipped(self, *, write: bool) -> None:
        if write:
            with self._lock:
                self._dirty = True

    def record_lost_writes(self) -> None:
        """Writes Redis acknowledged may be gone (a failover to a replica that had not received
        them): the next successful call runs the recovery hooks."""
        with self._lock:
            self._dirty = True

    def reset(self) -> None:
        with self._lock:
            self._failures = 0
            self._probe_in_flight = False
            self._dirty = False
            self._set_state(CLOSED)


_registry: dict[str, CircuitBreaker] = {}
_registry_lock = threading.Lock()
_recovery_hooks: list[Callable[[], None]] = []


def breaker_for(name: str) -> CircuitBreaker:
    """The process-wide breaker of one Redis server (one per name)."""
    with _registry_lock:
        if name not in _registry:
            _registry[name] = CircuitBreaker(name)
        return _registry[name]


def all_breakers() -> list[CircuitBreaker]:
    with _registry_lock:
        return list(_registry.values())


def reset_all() -> None:
    for breaker in all_breakers():
        breaker.reset()


def on_recovery(hook: Callable[[], None]) -> Callable[[], None]:
    """Register `hook` to run once after Redis answers again following lost writes."""
    if hook not in _recovery_hooks:
        _recovery_hooks.append(hook)
    return hook


_in_recovery = threading.local()


def run_recovery_hooks() -> None:
    if getattr(_in_recovery, "active", False):
        return
    _in_recovery.active = True
    try:
        for hook in list(_recovery_hooks):
            hook()
    finally:
        _in_recovery.active = False
