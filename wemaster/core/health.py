"""Liveness and readiness probes for load balancers and orchestrators."""

import asyncio
import logging
import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.http import JsonResponse
from django.views.decorators.http import require_GET
from redis.sentinel import SentinelConnectionPool

from wemaster.core.errors import error_body
from wemaster.core.replica_monitor import monitor

logger = logging.getLogger(__name__)


@require_GET
def healthz(request):
    """200 while the process runs; touches nothing else."""
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")


def _sentinel_master() -> str | None:
    """Behind Sentinel, the master the sentinels name now ("host:port"); None without Sentinel.
    Raises MasterNotFoundError (naming each sentinel's error) when none names a healthy one."""
    client = getattr(cache, "client", None)
    pool = client.get_client(write=True).connection_pool if hasattr(client, "get_client") else None
    if not isinstance(pool, SentinelConnectionPool):
        return None
    host, port = pool.get_master_address()
    return f"{host}:{port}"


def _check_cache() -> dict:
    breaker = getattr(getattr(cache, "client", None), "breaker", None)
    if breaker is not None and breaker.state == "open":
        raise RuntimeError("Redis circuit breaker is open")
    master = _sentinel_master()
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=5)
    if cache.get(key) != "1":
        raise RuntimeError("cache did not return the value just written" + (f" (master {master})" if master else ""))
    cache.delete(key)
    return {"redis_master": master} if master else {}


# The layer's receive() waits for Redis to come back (wemaster/core/channel_layer.py): the probe
# gives up on the round trip after this long.
CHANNEL_LAYER_PROBE_TIMEOUT_SECONDS = 2.0


async def _channel_layer_round_trip(layer) -> dict:
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "readyz.ping"})
    return await asyncio.wait_for(layer.receive(channel), CHANNEL_LAYER_PROBE_TIMEOUT_SECONDS)


def _check_channel_layer() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    message = async_to_sync(_channel_layer_round_trip)(layer)
    if message.get("type") != "readyz.ping":
        raise RuntimeError("channel layer returned another message")


READINESS_CHECKS = {
    "database": _check_database,
    "cache": _check_cache,
    "channel_layer": _check_channel_layer,
}


def replica_report() -> dict[str, dict]:
    """Each read replica as the background probe last saw it (started here if it was not; the
    first answer is awaited briefly). Replicas never make the process unready: the primary
    answers every read they cannot."""
    if not settings.DATABASE_REPLICA_ALIASES:
        return {}
    monitor.ensure_running()
    monitor.wait_first_probe(timeout=settings.DATABASE_REPLICA_TIMEOUT)
    return monitor.report()


@require_GET
def readyz(request):
    """200 when database, cache and channel layer answer ("degraded" when a read replica is not
    usable); 503 naming each failing one. Behind Sentinel the body names the Redis master that
    answered (`redis_master`)."""
    failing, details = {}, {}
    for name, check in READINESS_CHECKS.items():
        try:
            details.update(check() or {})
        except Exception as exc:  # noqa: BLE001 - a probe reports any failure, it never raises
            logger.warning("readiness check failed", extra={"check": name, "error": repr(exc)})
            failing[name] = f"{type(exc).__name__}: {exc}"
    replicas = replica_report()
    if failing:
        body = error_body("not_ready", "Not ready: " + ", ".join(failing) + " failing.")
        body["failing"] = failing
        if replicas:
            body["replicas"] = replicas
        return JsonResponse(body, status=503)
    body = {"status": "ready", "checks": {name: "ok" for name in READINESS_CHECKS}, **details}
    if replicas:
        body["replicas"] = replicas
        if not all(replica["usable"] for replica in replicas.values()):
            body["status"] = "degraded"
    return JsonResponse(body)
