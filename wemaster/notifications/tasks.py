"""Background work of the notifications app."""

from celery import shared_task

from wemaster.notifications import services


@shared_task(name="wemaster.notifications.tasks.email_digests_send")
def email_digests_send() -> int:
    """Mail the due digests (services.digests_send); returns how many went. Runs from beat."""
    return services.digests_send()
