"""`GET /metrics`: the Prometheus exposition of every process of this host, for scrapers only.

Who may read it (docs/OPERATIONS.md, "How /metrics is protected"):
- `METRICS_ALLOWED_ADDRESSES` (addresses or CIDR networks): the client's address must be in one,
  else 403. Development defaults to the loopback addresses; production to none.
- `METRICS_TOKEN`: `Authorization: Bearer <token>` is required; missing 401, wrong 403.
- Both set: both are required. Neither (production's default): every request is refused (403),
  so a deployment never publishes its metrics by omission.

The exposition merges the series every process wrote into PROMETHEUS_MULTIPROC_DIR (granian
workers, daphne processes, Celery) after dropping the live gauges of processes that are gone;
without that directory it is this process' own registry. The scrape-time collectors
(wemaster.core.metrics_collectors) are added either way.
"""

import hmac
import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from wemaster.core import metrics
from wemaster.core.client_ip import client_ip
from wemaster.core.errors import error_body
from wemaster.core.metrics_collectors import SCRAPE_TIME_SERIES


@lru_cache(maxsize=8)
def allowed_networks(spec: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in spec if item.strip())


def client_address(request) -> str:
    """The address the allow-list checks: the client as our own proxies report it
    (TRUSTED_PROXIES), never an address a client wrote into X-Forwarded-For itself."""
    return client_ip(request)


def _address_allowed(address: str, networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    ip = getattr(ip, "ipv4_mapped", None) or ip
    return any(ip.version == network.version and ip in network for network in networks)


def _refuse(status: int, code: str, detail: str) -> JsonResponse:
    response = JsonResponse(error_body(code, detail), status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


def refusal(request) -> JsonResponse | None:
    """The answer that refuses this scrape, or None when it may read the metrics."""
    networks = allowed_networks(tuple(settings.METRICS_ALLOWED_ADDRESSES))
    token = settings.METRICS_TOKEN
    if not networks and not token:
        return _refuse(403, "permission_denied", "Metrics are closed: set METRICS_TOKEN or METRICS_ALLOWED_ADDRESSES.")
    if networks and not _address_allowed(client_address(request), networks):
        return _refuse(403, "permission_denied", "This address may not read the metrics.")
    if token:
        scheme, _, presented = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            return _refuse(401, "not_authenticated", "Metrics need an Authorization: Bearer token.")
        if not hmac.compare_digest(presented.strip().encode(), token.encode()):
            return _refuse(403, "permission_denied", "Wrong metrics token.")
    return None


def exposition() -> bytes:
    """The text exposition: every live process' series plus the scrape-time collectors."""
    registry = CollectorRegistry(auto_describe=False)
    path = metrics.multiprocess_dir()
    if path:
        metrics.reap_dead_processes(path)
        MultiProcessCollector(registry, path=path)
    else:
        registry.register(REGISTRY)
    registry.register(SCRAPE_TIME_SERIES)
    return generate_latest(registry)


@require_GET
def metrics_view(request):
    refused = refusal(request)
    if refused is not None:
        return refused
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
