"""Background jobs of the core infrastructure."""

from celery import shared_task

from wemaster.core.cache.warming import warm
from wemaster.core.idempotency import idempotency_keys_prune as prune


@shared_task(name="wemaster.core.tasks.idempotency_keys_prune")
def idempotency_keys_prune() -> int:
    return prune()


@shared_task(name="wemaster.core.tasks.warm_cache", ignore_result=True)
def warm_cache(only: list[str] | None = None) -> dict[str, int]:
    """Beat task: refill the hot families (`CACHE_WARM_FAMILIES`, empty = all) on the
    schedule in `CACHE_WARM_INTERVAL_SECONDS`."""
    from django.conf import settings

    return warm(only or settings.CACHE_WARM_FAMILIES or None)
