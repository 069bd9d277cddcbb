"""Staff moderation in admin, event pruning, demo seeding."""

from datetime import timedelta

import pytest
from django.utils import timezone

from messaging import services
from messaging.models import Conversation, Event, Message
from messaging.seed import seed_demo
from messaging.tasks import events_prune
from tests.accounts.factories import StudentFactory
from tests.messaging.factories import direct_conversation

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    staff = StudentFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    return client


def test_admin_search_by_participant_email(staff_client, alice, bob, carol):
    chat = direct_conversation(alice, bob)
    services.message_send(sender=alice, conversation_id=chat.id, body="findable")
    direct_conversation(carol, StudentFactory())
    page = staff_client.get("/admin/messaging/conversation/", {"q": bob.email})
    assert page.status_code == 200
    assert page.context["cl"].result_count == 1
    page = staff_client.get("/admin/messaging/message/", {"q": bob.email})
    assert [m.body for m in page.context["cl"].result_list] == ["findable"]


def test_admin_soft_delete_action_goes_through_the_service(
    staff_client, alice, bob, django_capture_on_commit_callbacks
):
    chat = direct_conversation(alice, bob)
    message, _ = services.message_send(sender=alice, conversation_id=chat.id, body="spam")
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            "/admin/messaging/message/",
            {"action": "soft_delete_messages", "_selected_action": [message.id]},
        )
    assert response.status_code == 302
    message.refresh_from_db()
    assert message.deleted and message.body == ""
    deleted = Event.objects.filter(user=bob, type="message.deleted").get()
    assert deleted.payload["message"]["id"] == message.id


def test_prune_removes_events_older_than_the_retention(alice, bob, settings):
    chat = direct_conversation(alice, bob)
    for i in range(3):
        services.message_send(sender=alice, conversation_id=chat.id, body=str(i))
    old = timezone.now() - timedelta(hours=settings.MESSAGING_EVENT_RETENTION_HOURS, minutes=1)
    Event.objects.filter(seq=1).update(created_at=old)
    assert events_prune.delay() is not None
    assert not Event.objects.filter(seq=1).exists()
    assert Event.objects.count() == 4  # events 2 and 3 for both members


def test_prune_is_scheduled_by_beat(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["messaging-prune-events"]
    assert entry["task"] == "messaging.tasks.events_prune"


def test_seed_creates_conversations_with_history_idempotently():
    from wemaster.accounts.seed import seed_demo as seed_accounts

    def progress(iterable, **kwargs):
        return iterable

    seed_accounts(scale=1, progress=progress)
    seed_demo(scale=1, progress=progress)
    counts = Conversation.objects.count(), Message.objects.count()
    assert counts[0] >= 4 and counts[1] >= 15
    seed_demo(scale=1, progress=progress)
    assert (Conversation.objects.count(), Message.objects.count()) == counts
