"""Background work of the messaging app."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from messaging.models import Event

PRUNE_BATCH = 5000


@shared_task(name="messaging.tasks.events_prune")
def events_prune() -> int:
    """Delete stored events older than `MESSAGING_EVENT_RETENTION_HOURS` in batches (short
    transactions, no long lock); returns how many went. Runs from beat."""
    cutoff = timezone.now() - timedelta(hours=settings.MESSAGING_EVENT_RETENTION_HOURS)
    removed = 0
    while True:
        ids = list(Event.objects.filter(created_at__lt=cutoff).values_list("id", flat=True)[:PRUNE_BATCH])
        if not ids:
            return removed
        removed += Event.objects.filter(id__in=ids).delete()[0]
