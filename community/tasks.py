"""Community background work (Celery beat schedule: settings, `# --- community ---`)."""

from celery import shared_task

from community import services


@shared_task(name="community.tasks.trending_refresh", ignore_result=True)
def trending_refresh() -> int:
    """Rescore the trending window so trending pages decay with age between writes."""
    return services.trending_refresh()
