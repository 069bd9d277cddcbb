"""Races with real threads on PostgreSQL: 1:1 creation, unread counts, read pointers."""

import random
import threading

import pytest
from django.db import connection

from messaging import selectors, services
from messaging.models import Conversation, Event, EventSequence, Membership, Message
from tests.accounts.factories import StudentFactory
from tests.messaging.factories import group_conversation

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_threads(targets):
    errors = []
    barrier = threading.Barrier(len(targets))

    def wrap(target):
        try:
            barrier.wait()
            target()
        except Exception as exc:  # noqa: BLE001 - re-raised in the main thread below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=wrap, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors


def test_concurrent_direct_creation_from_both_sides_gives_one_conversation():
    a, b = StudentFactory(), StudentFactory()
    results = []

    def create(creator, other):
        return lambda: results.append(services.conversation_create(creator=creator, participant_ids=[other.id]))

    run_threads([create(a, b), create(b, a)] * 4)
    assert Conversation.objects.count() == 1
    assert len({conversation.id for conversation, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert Membership.objects.count() == 2


def test_unread_counts_stay_exact_under_interleaved_sends_and_reads():
    users = StudentFactory.create_batch(4)
    group = group_conversation(users[0], *users[1:])

    def sender(user):
        def run():
            for i in range(10):
                services.message_send(sender=user, conversation_id=group.id, body=f"{user.id}-{i}")
                if i % 3 == 0:
                    latest = Message.objects.filter(conversation=group).order_by("-id").first()
                    services.conversation_mark_read(user=user, conversation_id=group.id, message_id=latest.id)
                selectors.unread_counts_for_user(user=user)  # fill the cache between writes

        return run

    run_threads([sender(user) for user in users])
    assert Message.objects.filter(conversation=group).count() == 40
    for user in users:
        pointer = Membership.objects.get(conversation=group, user=user).last_read_message_id
        expected = Message.objects.filter(conversation=group, id__gt=pointer).exclude(sender=user).count()
        assert selectors.unread_counts_for_user(user=user)["total"] == expected
    # each member's events are numbered 1..n without gap or repeat, and created in that order
    for user in users:
        events = list(Event.objects.filter(user=user).order_by("id").values_list("seq", "type"))
        assert [seq for seq, _ in events] == list(range(1, len(events) + 1))
        assert sum(kind == "message.created" for _, kind in events) == 40
        assert EventSequence.objects.get(user=user).last_seq == len(events)


def test_read_pointer_only_moves_forward_under_concurrent_reads():
    a, b = StudentFactory(), StudentFactory()
    conversation, _ = services.conversation_create(creator=a, participant_ids=[b.id])
    ids = [services.message_send(sender=a, conversation_id=conversation.id, body=str(i))[0].id for i in range(20)]
    shuffled = random.sample(ids, len(ids))

    def read(message_id):
        return lambda: services.conversation_mark_read(user=b, conversation_id=conversation.id, message_id=message_id)

    run_threads([read(message_id) for message_id in shuffled])
    assert Membership.objects.get(conversation=conversation, user=b).last_read_message_id == max(ids)
    assert selectors.unread_counts_for_user(user=b)["total"] == 0
