from django.db.models import Exists, OuterRef, QuerySet

from wemaster.accounts.models import User
from wemaster.notifications.models import EmailOptOut, Notification, NotificationKind


def notification_list(*, user: User, unread_only: bool = False) -> QuerySet[Notification]:
    rows = Notification.objects.filter(recipient_id=user.id)
    return rows.filter(read_at__isnull=True) if unread_only else rows


def unread_count(*, user: User) -> int:
    return Notification.objects.filter(recipient_id=user.id, read_at__isnull=True).count()


def email_settings(*, user: User) -> dict[str, bool]:
    """Email on or off per kind (on unless the user turned it off)."""
    off = set(EmailOptOut.objects.filter(user_id=user.id).values_list("kind", flat=True))
    return {kind: kind not in off for kind in NotificationKind.values}


def due_for_email(*, cutoff, oldest) -> QuerySet[Notification]:
    """Unread, never emailed notifications created in [oldest, cutoff] of a kind the recipient
    kept email on for."""
    opted_out = EmailOptOut.objects.filter(user_id=OuterRef("recipient_id"), kind=OuterRef("kind"))
    return Notification.objects.filter(
        read_at__isnull=True, emailed_at__isnull=True, created_at__lte=cutoff, created_at__gte=oldest
    ).filter(~Exists(opted_out))


def digest_recipients(*, cutoff, oldest, limit: int) -> list[User]:
    """Active users with notifications due for email (at most `limit`, in id order)."""
    # Driven by the notifications' partial index, not a scan of every user.
    recipients = due_for_email(cutoff=cutoff, oldest=oldest).values("recipient_id")
    return list(User.objects.filter(pk__in=recipients, is_active=True).order_by("pk")[:limit])
