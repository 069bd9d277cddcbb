"""Scoped throttles limit writes only: the second POST within the window is 429, reads pass."""

import pytest

from tests.accounts.factories import StudentFactory


def _limit(settings, scope: str, rate: str):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], scope: rate},
    }


@pytest.mark.django_db
def test_post_create_is_throttled_but_listing_is_not(client_for, settings):
    _limit(settings, "post_create", "1/min")
    client = client_for(StudentFactory())
    body = {"title": "Hello", "body": "World", "kind": "discussion", "tags": []}
    assert client.post("/api/v1/community/posts", body, format="json").status_code == 201
    response = client.post("/api/v1/community/posts", body, format="json")
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert all(client.get("/api/v1/community/posts").status_code == 200 for _ in range(3))


@pytest.mark.django_db
def test_message_send_is_throttled(client_for, settings):
    _limit(settings, "message_send", "1/min")
    alice, bob = StudentFactory(), StudentFactory()
    client = client_for(alice)
    conversation = client.post("/api/v1/conversations", {"participant_ids": [bob.id]}, format="json").json()
    url = f"/api/v1/conversations/{conversation['id']}/messages"
    assert client.post(url, {"body": "one"}, format="json").status_code == 201
    assert client.post(url, {"body": "two"}, format="json").status_code == 429
    assert client.get(url).status_code == 200
