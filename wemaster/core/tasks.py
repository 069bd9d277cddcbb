from celery import shared_task

from wemaster.core.idempotency import idempotency_keys_prune as prune


@shared_task(name="wemaster.core.tasks.idempotency_keys_prune")
def idempotency_keys_prune() -> int:
    return prune()
