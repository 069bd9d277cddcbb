"""Delivery: live on the recipient's websocket (`notification.created`, numbered and replayed like
chat), otherwise by one email digest per user from a real Celery worker on Redis."""

import threading
import time
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

from messaging import services as messaging
from messaging import sockets
from messaging.models import Event
from tests.lessons.factories import SUBJECT, future
from tests.messaging.factories import direct_conversation
from tests.messaging.test_ws_chat import close, connect, nothing, receive, token
from wemaster.celery import app as celery_app
from wemaster.notifications import services, tasks
from wemaster.notifications.models import Notification, NotificationKind

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis, pytest.mark.postgres]


def book_by_rest(client_for, student, tutor):
    body = {"tutor": tutor.id, "subject": SUBJECT, "starts_at": future().isoformat(), "duration_minutes": 60}
    response = client_for(student).post("/api/v1/lessons", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def age(minutes: int) -> None:
    """Make every notification `minutes` older (the digest waits for NOTIFICATION_EMAIL_DELAY_MINUTES)."""
    Notification.objects.update(created_at=timezone.now() - timedelta(minutes=minutes))


def test_a_booking_reaches_the_tutors_open_socket_and_replays_after_a_reconnect(client_for, pair):
    student, tutor = pair
    tutor_key = token(tutor)

    async def scenario():
        socket = await connect(tutor_key)
        lesson = await sync_to_async(book_by_rest)(client_for, student, tutor)
        event = await receive(socket)
        assert event["type"] == "notification.created" and isinstance(event["event_id"], int)
        listed = await sync_to_async(lambda: client_for(tutor).get("/api/v1/notifications").json()["results"])()
        assert event["notification"] == listed[0]
        assert (listed[0]["kind"], listed[0]["data"]["lesson"]) == ("lesson_booked", lesson["id"])
        await nothing(socket)
        await close(socket)
        replayed = await connect(tutor_key, since=event["event_id"] - 1)
        assert await receive(replayed) == event
        await close(replayed)

    async_to_sync(scenario)()
    assert Notification.objects.filter(recipient=tutor).count() == 1


def test_an_offline_tutor_gets_one_digest_from_a_real_worker(client_for, pair):
    from celery.contrib.testing.worker import start_worker

    student, tutor = pair
    book_by_rest(client_for, student, tutor)
    age(minutes=11)
    celery_app.conf.task_always_eager = False
    celery_app.control.purge()
    with start_worker(celery_app, perform_ping_check=False, shutdown_timeout=10):
        tasks.email_digests_send.delay()
        deadline = time.monotonic() + 15
        while not Notification.objects.filter(emailed_at__isnull=False).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    assert len(mail.outbox) == 1
    digest = mail.outbox[0]
    assert digest.to == [tutor.email]
    assert "New lesson booked for" in digest.body
    assert "/api/v1/notifications/unsubscribe?token=" in digest.body
    assert services.digests_send() == 0  # mailed once; nothing new to mail
    assert len(mail.outbox) == 1


def test_no_digest_while_the_user_has_a_socket_or_before_the_delay(pair):
    student, tutor = pair
    services.notification_create(recipient_id=tutor.id, kind=NotificationKind.PAYOUT_PAID, cause_key="t", payload={})
    assert services.digests_send() == 0  # too recent
    age(minutes=11)
    sockets.socket_register(user_id=tutor.id, channel_name="test.channel")
    try:
        assert services.digests_send() == 0  # online: it reached them live
    finally:
        sockets.socket_unregister(user_id=tutor.id, channel_name="test.channel")
    assert services.digests_send() == 1
    assert len(mail.outbox) == 1


def test_a_digest_in_progress_elsewhere_is_skipped_not_sent_twice(pair):
    """Two workers: the second finds the rows locked (SKIP LOCKED) and sends nothing."""
    _, tutor = pair
    services.notification_create(recipient_id=tutor.id, kind=NotificationKind.PAYOUT_PAID, cause_key="t", payload={})
    age(minutes=11)
    locked, release = threading.Event(), threading.Event()

    def other_worker():
        try:
            with transaction.atomic():
                list(Notification.objects.select_for_update().filter(recipient=tutor))
                locked.set()
                release.wait(10)
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert locked.wait(10)
        assert services.digests_send() == 0
    finally:
        release.set()
        thread.join()
    assert services.digests_send() == 1
    assert len(mail.outbox) == 1


def test_messages_to_an_offline_member_make_one_notification_per_conversation_and_window(pair):
    alice, bob = pair
    chat = direct_conversation(alice, bob)
    bob_key = token(bob)

    async def online():
        socket = await connect(bob_key)
        await sync_to_async(messaging.message_send)(sender=alice, conversation_id=chat.id, body="you there?")
        assert (await receive(socket))["type"] == "message.created"
        await close(socket)

    async_to_sync(online)()
    assert not Notification.objects.filter(kind=NotificationKind.MESSAGES).exists()
    for body in ("hello", "are you there?", "ping"):
        messaging.message_send(sender=alice, conversation_id=chat.id, body=body)
    (notification,) = Notification.objects.filter(kind=NotificationKind.MESSAGES)
    assert (notification.recipient_id, notification.payload["conversation"]) == (bob.id, chat.id)
    assert not Notification.objects.filter(recipient=alice).exists()
    # Not pushed: bob's replay carries the three messages' own events, not a fourth one.
    assert not Event.objects.filter(user=bob, type="notification.created").exists()


def test_the_digest_task_is_scheduled_by_beat_every_minute(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["notifications-email-digests"]
    assert entry["task"] == tasks.email_digests_send.name
    assert entry["schedule"] == 60
