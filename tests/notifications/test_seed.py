import pytest

from wemaster.accounts.models import User
from wemaster.accounts.seed import demo_email
from wemaster.accounts.seed import seed_demo as seed_accounts
from wemaster.notifications import services
from wemaster.notifications.models import Notification, NotificationKind
from wemaster.notifications.seed import UNREAD_PER_USER
from wemaster.notifications.seed import seed_demo as seed_notifications


def no_progress(iterable, **kwargs):
    return iterable


@pytest.mark.django_db
def test_the_seed_leaves_each_demo_user_a_few_unread_notifications_the_newest():
    """The other apps' seeds notify through their services; this one keeps the newest unread."""
    seed_accounts(scale=1, progress=no_progress)
    tutor = User.objects.get(email=demo_email("tutor", 1))
    ids = [
        services.notification_create(
            recipient_id=tutor.id, kind=NotificationKind.LESSON_BOOKED, cause_key=f"lesson:{n}", payload={}
        ).id
        for n in range(UNREAD_PER_USER + 4)
    ]
    for _ in range(2):
        seed_notifications(scale=1, progress=no_progress)
    unread = Notification.objects.filter(recipient=tutor, read_at__isnull=True).order_by("id")
    assert list(unread.values_list("id", flat=True)) == ids[-UNREAD_PER_USER:]
