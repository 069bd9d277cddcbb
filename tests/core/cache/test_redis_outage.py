"""Redis dies (or hangs) under a running app: every request still answers from the
database, the breaker opens, login works, and nothing cached before the outage is served
once Redis is back. Each test runs its own throwaway redis-server."""

import time

import pytest
from django.core.cache import caches
from django.db import transaction

from tests.accounts.factories import PASSWORD, StudentFactory, TutorFactory
from wemaster.accounts.models import User
from wemaster.core.cache import get_or_compute, invalidate_tags
from wemaster.core.cache import metrics as cache_metrics

TUTORS = "/api/v1/tutors"


def breaker():
    return caches["default"].client.breaker


def wait_for_cooldown(settings):
    time.sleep(settings.CACHE_BREAKER_COOLDOWN_SECONDS + 0.05)


def redis_errors() -> float:
    return cache_metrics.redis_errors.labels(breaker().name)._value.get()


@pytest.mark.django_db(transaction=True)
def test_requests_keep_answering_while_redis_is_dead_and_the_breaker_opens(throwaway_redis, api_client, settings):
    tutor = TutorFactory(display_name="Ada")
    student = StudentFactory()
    assert api_client.get(TUTORS).json()["results"][0]["display_name"] == "Ada"

    throwaway_redis.kill()
    for _ in range(3):
        response = api_client.get(TUTORS)
        assert response.status_code == 200
        assert [row["id"] for row in response.json()["results"]] == [tutor.id]
    assert breaker().state == "open"
    errors_when_opened = redis_errors()
    assert api_client.get(TUTORS).status_code == 200
    assert redis_errors() == errors_when_opened  # an open breaker does not wait on Redis

    # login, token auth (the token table is cachalot-cached) and sign-up still work
    token = api_client.post("/api/v1/auth/token", {"email": student.email, "password": PASSWORD}).json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api_client.get("/api/v1/me").json()["id"] == student.id
    api_client.credentials()
    registered = api_client.post(
        "/api/v1/auth/register",
        {"email": "new@example.com", "password": "a-long-passphrase", "role": "tutor", "display_name": "Newton"},
    )
    assert registered.status_code == 201
    # ...and so does onboarding: the new tutor is listed once the profile has a rate and a subject
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {registered.json()['token']}")
    profile = {"tutor_profile": {"hourly_rate": "40.00", "subjects": ["mathematics"]}}
    assert api_client.patch("/api/v1/me", profile, format="json").status_code == 200
    api_client.credentials()
    assert [row["display_name"] for row in api_client.get(TUTORS).json()["results"]] == ["Newton", "Ada"]

    ready = api_client.get("/readyz")
    assert ready.status_code == 503 and set(ready.json()["failing"]) == {"cache"}

    throwaway_redis.start()
    wait_for_cooldown(settings)
    for _ in range(2):
        assert api_client.get(TUTORS).status_code == 200
    assert breaker().state == "closed"
    assert api_client.get("/readyz").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_nothing_cached_before_a_hang_is_served_after_it(throwaway_redis, settings):
    """Redis hangs (SIGSTOP) with its data intact; the writes made meanwhile could not
    invalidate anything. After it resumes, neither our entries nor cachalot's are served."""
    compute_calls = []

    def compute():
        compute_calls.append(1)
        return f"v{len(compute_calls)}"

    user = StudentFactory(display_name="Before")
    assert get_or_compute("outage:k", compute, tags=["outage"]) == "v1"
    assert User.objects.get(pk=user.pk).display_name == "Before"  # now in cachalot
    assert get_or_compute("outage:k", compute, tags=["outage"]) == "v1"

    throwaway_redis.pause()
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(display_name="After")
        invalidate_tags("outage")
    for _ in range(3):
        get_or_compute("outage:k", compute, tags=["outage"])
    assert breaker().state == "open"

    throwaway_redis.resume()
    wait_for_cooldown(settings)
    assert get_or_compute("outage:k", compute, tags=["outage"]) not in ("v1",)
    assert User.objects.get(pk=user.pk).display_name == "After"
    assert breaker().state == "closed"
    final = get_or_compute("outage:k", compute, tags=["outage"])
    assert final == get_or_compute("outage:k", compute, tags=["outage"])  # caching again


@pytest.mark.django_db(transaction=True)
def test_throttles_fail_open_when_redis_is_down(throwaway_redis, api_client, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login": "2/min"},
    }
    student = StudentFactory()
    credentials = {"email": student.email, "password": PASSWORD}
    statuses = [api_client.post("/api/v1/auth/token", credentials).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]  # enforced while Redis answers

    throwaway_redis.kill()
    statuses = [api_client.post("/api/v1/auth/token", credentials).status_code for _ in range(5)]
    assert statuses == [200] * 5
