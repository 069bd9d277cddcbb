"""django-redis client that consults the circuit breaker on every call.

Configured as `OPTIONS.CLIENT_CLASS` of the default cache, so every user of that cache
is covered: our cache API, django-cachalot, throttles, readiness and any `cache.*` call.
A connection error or timeout (or an open breaker) turns a read into a miss and a write
into a no-op; `incr`/`decr` and calls without a natural miss raise `CacheUnavailable`
(a `ValueError`, like Django's "key not found") so counters can fail open.

Behind Sentinel (`SentinelMasterPool`) every call goes to the master the sentinels name. Redis
replicates asynchronously, so a failover can lose the last writes the old master acknowledged,
tag bumps and cachalot invalidations among them: when the pool sees the master change it tells
the breaker, which invalidates everything cached (as after an outage) before its next answer.
"""

import functools
import logging
import socket
import threading
from urllib.parse import urlsplit

from django_redis.client import DefaultClient
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.sentinel import SentinelConnectionPool, SentinelConnectionPoolProxy

from wemaster.core.cache import breaker as breakers

logger = logging.getLogger(__name__)


class CacheUnavailable(ValueError):
    """Redis could not be reached (or the breaker is open) for a call with no miss value."""


_CONNECTION_ERRORS = (RedisConnectionError, RedisTimeoutError, socket.timeout, ConnectionError, TimeoutError)


def _unavailable(*args, **kwargs):
    raise CacheUnavailable("Redis is unavailable")


def _default_argument(*args, **kwargs):
    # get(key, default=None, ...): a miss returns the caller's default.
    if "default" in kwargs:
        return kwargs["default"]
    return args[1] if len(args) > 1 else None


# What a call returns when Redis cannot answer: the value of a miss or of a no-op write.
_FALLBACKS = {
    "get": _default_argument,
    "get_many": lambda *a, **k: {},
    "has_key": lambda *a, **k: False,
    "set": lambda *a, **k: False,
    "add": lambda *a, **k: False,
    "set_many": lambda *a, **k: None,
    "touch": lambda *a, **k: False,
    "delete": lambda *a, **k: 0,
    "delete_many": lambda *a, **k: 0,
    "delete_pattern": lambda *a, **k: 0,
    "clear": lambda *a, **k: None,
    "keys": lambda *a, **k: [],
    "iter_keys": lambda *a, **k: iter(()),
    "ttl": lambda *a, **k: 0,
    "pttl": lambda *a, **k: 0,
    "expire": lambda *a, **k: False,
    "pexpire": lambda *a, **k: False,
    "expire_at": lambda *a, **k: False,
    "pexpire_at": lambda *a, **k: False,
    "persist": lambda *a, **k: False,
    "eval_script": lambda *a, **k: None,
}
_WRITES = frozenset(
    {"set", "add", "set_many", "touch", "delete", "delete_many", "delete_pattern", "clear", "incr", "decr"}
    | {"incr_version", "expire", "pexpire", "expire_at", "pexpire_at", "persist", "hset", "hdel", "sadd", "srem"}
    | {"spop", "smove", "sdiffstore", "sinterstore", "sunionstore", "eval_script"}
)
# Plumbing that performs no Redis command of its own (or hands out raw connections).
_UNGUARDED = frozenset(
    {"get_next_client_index", "get_client", "get_client_with_index", "connect", "disconnect", "decode", "encode"}
    | {"make_key", "make_pattern", "close", "do_close_clients", "lock"}
)

_depth = threading.local()


def _is_connection_failure(exc: BaseException) -> bool:
    if isinstance(exc, ConnectionInterrupted):
        return isinstance(exc.__cause__, _CONNECTION_ERRORS)
    return isinstance(exc, _CONNECTION_ERRORS)


def _guard(name: str, method):
    fallback = _FALLBACKS.get(name, _unavailable)
    write = name in _WRITES

    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        # django-redis calls its own public methods internally (add -> set): only the
        # outermost call talks to the breaker.
        if getattr(_depth, "value", 0):
            return method(self, *args, **kwargs)
        breaker = self.breaker
        if not breaker.allow():
            breaker.record_skipped(write=write)
            return fallback(self, *args, **kwargs)
        _depth.value = 1
        try:
            result = method(self, *args, **kwargs)
        except (ConnectionInterrupted, *_CONNECTION_ERRORS) as exc:
            if not _is_connection_failure(exc):
                raise
            breaker.record_failure(write=write)
            return fallback(self, *args, **kwargs)
        finally:
            _depth.value = 0
        if breaker.record_success():
            breakers.run_recovery_hooks()
            if not write:
                # What was just read may predate invalidations lost in the outage.
                return fallback(self, *args, **kwargs)
        return result

    return guarded


def sentinel_breaker_name(master_name: str, db: int) -> str:
    return f"redis-sentinel:{master_name}/{db}"


def _breaker_name(server, options: dict) -> str:
    location = server[0] if isinstance(server, list | tuple) else str(server).split(",")[0]
    parts = urlsplit(location)
    if options.get("SENTINELS"):
        # LOCATION is redis://<master name>/<db> (django_redis.pool.SentinelConnectionFactory).
        return sentinel_breaker_name(parts.hostname, int((parts.path or "/0").lstrip("/") or 0))
    return f"redis:{parts.hostname}:{parts.port or 6379}{parts.path or '/0'}"


class BreakerClient(DefaultClient):
    """DefaultClient whose every command goes through the server's circuit breaker."""

    def __init__(self, server, params, backend):
        super().__init__(server, params, backend)
        self.breaker = breakers.breaker_for(_breaker_name(server, params.get("OPTIONS", {})))
        self._scripts = {}

    def eval_script(self, source: str, keys: list[str], args: list) -> object:
        """Run a Lua script on the master (EVALSHA, loaded on first use); `keys` already made
        with `make_key`. Counted as a write; None when Redis cannot answer."""
        script = self._scripts.get(source)
        if script is None:
            script = self._scripts[source] = self.get_client(write=True).register_script(source)
        return script(keys=keys, args=args, client=self.get_client(write=True))


def _address(address: tuple[str, int]) -> str:
    return f"{address[0]}:{address[1]}"


class _MasterWatch(SentinelConnectionPoolProxy):
    """Asks the sentinels for the master, as redis-py does on every new connection, and reports a
    change of master to the breaker. What it last saw survives the pool's resets (after a fork)."""

    def __init__(self, *, breaker_name: str, **kwargs):
        self.breaker_name = breaker_name
        self.last_master = None
        super().__init__(**kwargs)

    def get_master_address(self):
        address = super().get_master_address()
        previous, self.last_master = self.last_master, address
        if previous is not None and address != previous:
            logger.warning(
                "redis master changed",
                extra={"service": self.service_name, "from": _address(previous), "to": _address(address)},
            )
            breakers.breaker_for(self.breaker_name).record_lost_writes()
        return address


class SentinelMasterPool(SentinelConnectionPool):
    """The cache's connection pool behind Sentinel (`CONNECTION_POOL_CLASS`): redis-py's, plus
    `_MasterWatch`."""

    def __init__(self, service_name, sentinel_manager, **kwargs):
        super().__init__(service_name, sentinel_manager, **kwargs)
        self.proxy = _MasterWatch(
            breaker_name=sentinel_breaker_name(service_name, int(self.connection_kwargs.get("db") or 0)),
            connection_pool=self,
            is_master=self.is_master,
            check_connection=self.check_connection,
            service_name=service_name,
            sentinel_manager=sentinel_manager,
        )
        self.connection_kwargs["connection_pool"] = self.proxy

    @property
    def known_master(self) -> tuple[str, int] | None:
        return self.proxy.last_master


for _name in dir(DefaultClient):
    if _name.startswith("_") or _name in _UNGUARDED:
        continue
    _method = getattr(DefaultClient, _name)
    if callable(_method):
        setattr(BreakerClient, _name, _guard(_name, _method))
BreakerClient.eval_script = _guard("eval_script", BreakerClient.eval_script)
