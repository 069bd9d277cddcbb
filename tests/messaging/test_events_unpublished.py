"""A channel layer whose Redis cannot be reached costs the live delivery, never the write."""

import pytest

from messaging import events
from messaging.models import Event
from tests.messaging.factories import direct_conversation


@pytest.mark.django_db
def test_a_message_sent_while_the_layer_is_unreachable_is_stored_and_its_event_kept_for_replay(
    client_for, alice, bob, settings, unused_tcp_port, django_capture_on_commit_callbacks
):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "wemaster.core.channel_layer.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": f"redis://127.0.0.1:{unused_tcp_port}/0", "socket_connect_timeout": 0.2}]},
        }
    }
    chat = direct_conversation(alice, bob)
    before = events.unpublished._value.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(alice).post(f"/api/v1/conversations/{chat.id}/messages", {"body": "hello"})
    assert response.status_code == 201, response.content
    assert events.unpublished._value.get() == before + 2  # alice's and bob's event
    assert Event.objects.filter(type=events.MESSAGE_CREATED).count() == 2
