"""Demo notifications. The apps seeded before this one (lessons, refunds, payouts, chat) notify
through their services like any other cause; here the demo users' older notifications are
marked read, so each login shows a few unread ones in the console's badge (idempotent)."""

from django.utils import timezone

from wemaster.accounts.models import User
from wemaster.accounts.seed import DEMO_DOMAIN
from wemaster.notifications.models import Notification

UNREAD_PER_USER = 3


def seed_demo(*, scale: int, progress) -> list[tuple[str, str, str]]:
    users = list(User.objects.filter(email__endswith=f"@{DEMO_DOMAIN}").order_by("id"))
    for user in progress(users, desc="notifications", total=len(users)):
        newest = list(
            Notification.objects.filter(recipient=user).order_by("-id").values_list("id", flat=True)[:UNREAD_PER_USER]
        )
        if newest:
            Notification.objects.filter(recipient=user, id__lt=min(newest), read_at__isnull=True).update(
                read_at=timezone.now()
            )
    return []
