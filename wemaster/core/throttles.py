"""Rate limits on atomic cache counters (sliding window), shared by every process.

DRF's stock throttles read a history list, append and write it back: two concurrent
requests both read the old list and both pass. Here every request is one atomic
`incr` on the shared cache, so a burst of N concurrent requests admits exactly the
configured number. `RATE_LIMITS=off` switches every throttle off.

The counters live in the default cache behind the Redis circuit breaker: when Redis is
down (or the breaker is open) a throttle fails open, admitting the request, because
refusing every sign-up and login during a cache outage would be worse than a few
unthrottled minutes.

Anonymous callers are counted by `client_ip` (wemaster/core/client_ip.py): X-Forwarded-For
counts only for hops our trusted proxies added, never as the client sent it (DRF's own
`get_ident` trusts the whole header unless NUM_PROXIES is set, and a forged one then made a
new identity per request).

`expensive_read_slot` bounds how many expensive reads one client runs at once, in every process
together: a semaphore in Redis whose slots expire, so a killed worker's slot comes back.
"""

import hashlib
import logging
import time
import uuid
from contextlib import contextmanager

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework import throttling
from rest_framework.exceptions import Throttled
from rest_framework.settings import api_settings

from wemaster.core.cache import breaker as breakers
from wemaster.core.cache.redis_client import CacheUnavailable
from wemaster.core.client_ip import client_ip

logger = logging.getLogger(__name__)


def _sliding_window_hit(ident: str, num_requests: int, duration: int) -> float | None:
    """Count one request for `ident`: the previous window's count, weighted by its overlap,
    plus the current one. None when admitted, else the seconds to wait."""
    cache = caches["default"]
    now = time.time()
    window = duration
    window_start = int(now // window) * window
    current_key = f"throttle:{ident}:{window_start}"
    previous_key = f"throttle:{ident}:{window_start - window}"
    cache.add(current_key, 0, timeout=window * 2 + 1)
    try:
        current = cache.incr(current_key)
    except CacheUnavailable:
        # Fail open: with Redis down, admitting is safer than refusing every request.
        logger.warning("rate limit not enforced: cache unavailable", extra={"throttle": ident})
        return None
    previous = cache.get(previous_key) or 0
    elapsed = now - window_start
    weighted = previous * (1 - elapsed / window) + current
    if weighted <= num_requests:
        return None
    try:
        cache.decr(current_key)  # a refused request does not consume capacity
    except CacheUnavailable:
        logger.warning("throttle counter not given back: cache unavailable", extra={"throttle": ident})
    return max(1.0, window - elapsed)


def rate_limit_hit(scope: str, ident: str) -> float | None:
    """Count one request of `ident` (a user id) against `scope`'s rate, sharing the counter
    of the DRF `ScopedRateThrottle` for that scope (the websocket consumer uses it for
    sends). None when admitted, else the seconds to wait."""
    if not settings.RATE_LIMITS_ENABLED:
        return None
    try:
        rate = api_settings.DEFAULT_THROTTLE_RATES[scope]
    except KeyError as exc:
        raise ImproperlyConfigured(f"No throttle rate set for scope {scope!r}") from exc
    if rate is None:
        return None
    num_requests, duration = throttling.SimpleRateThrottle.parse_rate(None, rate)
    key = throttling.ScopedRateThrottle.cache_format % {"scope": scope, "ident": ident}
    return _sliding_window_hit(key, num_requests, duration)


class AtomicRateThrottleMixin:
    """DRF throttle on `_sliding_window_hit`. Precondition: `self.rate` parsed by
    `SimpleRateThrottle.__init__`."""

    def get_rate(self):
        # DRF binds the rates to a class attribute at import; read them live so
        # settings changes (tests, operators' overrides) apply.
        try:
            return api_settings.DEFAULT_THROTTLE_RATES[self.scope]
        except KeyError as exc:
            raise ImproperlyConfigured(f"No throttle rate set for scope {self.scope!r}") from exc

    def allow_request(self, request, view):
        if not settings.RATE_LIMITS_ENABLED or self.rate is None:
            return True
        ident = self.get_cache_key(request, view)
        if ident is None:
            return True
        self._wait = _sliding_window_hit(ident, self.num_requests, self.duration)
        return self._wait is None

    def wait(self):
        return getattr(self, "_wait", None)

    def get_ident(self, request):
        return client_ip(request)


class AnonRateThrottle(AtomicRateThrottleMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(AtomicRateThrottleMixin, throttling.UserRateThrottle):
    pass


class ScopedRateThrottle(AtomicRateThrottleMixin, throttling.ScopedRateThrottle):
    """Per-view scope (`throttle_scope = "login"`), keyed by user id or client IP."""

    def allow_request(self, request, view):
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)


class AccountRateThrottle(ScopedRateThrottle):
    """Per-view `account_throttle_scope`, keyed by the account the body names (its `email`,
    compared case-insensitively), whoever sends it: next to the per-IP `throttle_scope` of the
    same view, guessing one account's password from many addresses still meets the account's
    limit. The key holds a hash of the email, of fixed length whatever the body says. A body
    without an email is left to the per-IP throttle (and the serializer)."""

    scope_attr = "account_throttle_scope"

    def get_cache_key(self, request, view):
        email = request.data.get("email") if isinstance(request.data, dict) else None
        if not isinstance(email, str) or not email.strip():
            return None
        account = hashlib.sha256(email.strip().lower().encode("utf-8", "replace")).hexdigest()[:32]
        return self.cache_format % {"scope": self.scope, "ident": account}


class ScopedWriteThrottleMixin:
    """For views that read and write: `throttle_scope` limits the methods in
    `throttle_scope_methods` (the writes: POST unless the view says otherwise), on top of the
    default anon/user throttles that apply to every method."""

    throttle_scope_methods: tuple[str, ...] = ("POST",)

    def get_throttles(self):
        throttles = super().get_throttles()
        if self.request.method in self.throttle_scope_methods:
            throttles.append(ScopedRateThrottle())
        return throttles


# --- concurrency of expensive reads -------------------------------------------------------------

# KEYS[1]: the client's slots (a sorted set, member -> when taken, on Redis' clock).
# ARGV: slot lifetime (s), slots allowed, this request's member. 1 when taken, else 0.
_TAKE_SLOT = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', t - tonumber(ARGV[1]))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], t, ARGV[3])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))
return 1
"""


def _slots_call(command):
    """Run `command(redis_client)` through the cache's circuit breaker; None when Redis did not
    answer (or no Redis is configured: the embedded default runs one process)."""
    if not settings.REDIS_CONFIGURED:
        return None
    cache_client = caches["default"].client
    breaker = cache_client.breaker
    if not breaker.allow():
        return None
    try:
        result = command(cache_client.get_client(write=True))
    except (RedisConnectionError, RedisTimeoutError, OSError):
        breaker.record_failure(write=False)
        return None
    if breaker.record_success():
        breakers.run_recovery_hooks()
    return result


@contextmanager
def expensive_read_slot(scope: str, ident: str):
    """Hold one of EXPENSIVE_READS_PER_CLIENT slots of `scope` for `ident` (a client address)
    while the block runs. Raises DRF's Throttled (429 `throttled`, Retry-After) when all are
    taken. Fails open when Redis is down, as the rate limits do."""
    limit = settings.EXPENSIVE_READS_PER_CLIENT
    if not settings.RATE_LIMITS_ENABLED or limit <= 0:
        yield
        return
    key = caches["default"].make_key(f"slots:{scope}:{ident}")
    member = uuid.uuid4().hex
    lifetime = settings.EXPENSIVE_READ_SLOT_SECONDS
    taken = _slots_call(lambda redis: redis.eval(_TAKE_SLOT, 1, key, lifetime, limit, member))
    if taken == 0:
        raise Throttled(wait=1)
    if taken is None:
        logger.warning("concurrency limit not enforced: cache unavailable", extra={"throttle": scope})
    try:
        yield
    finally:
        if taken:
            _slots_call(lambda redis: redis.zrem(key, member))
