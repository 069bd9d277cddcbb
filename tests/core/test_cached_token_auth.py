"""Token authentication served from the cache, invalidated when the user or token changes."""

import pytest
from rest_framework.authtoken.models import Token

from tests.accounts.factories import StudentFactory


@pytest.mark.django_db
def test_second_request_authenticates_without_a_query(client_for, django_assert_num_queries, settings):
    settings.CACHALOT_ENABLED = False
    student = StudentFactory()
    client = client_for(student)
    assert client.get("/api/v1/wallet").status_code == 200
    with django_assert_num_queries(1):  # the wallet row only; the token lookup is cached
        response = client.get("/api/v1/wallet")
    assert response.status_code == 200


@pytest.mark.django_db
def test_deactivated_user_is_refused_at_once(client_for, django_capture_on_commit_callbacks):
    student = StudentFactory()
    client = client_for(student)
    assert client.get("/api/v1/me").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        student.is_active = False
        student.save(update_fields=["is_active"])
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


@pytest.mark.django_db
def test_deleted_token_is_refused_at_once(client_for, django_capture_on_commit_callbacks):
    student = StudentFactory()
    client = client_for(student)
    assert client.get("/api/v1/me").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        Token.objects.filter(user=student).delete()
    assert client.get("/api/v1/me").status_code == 401


@pytest.mark.django_db
def test_staff_flag_change_is_seen_at_once(client_for, django_capture_on_commit_callbacks):
    student = StudentFactory()
    client = client_for(student)
    assert client.get("/api/v1/me").json()["is_staff"] is False
    with django_capture_on_commit_callbacks(execute=True):
        student.is_staff = True
        student.save(update_fields=["is_staff"])
    assert client.get("/api/v1/me").json()["is_staff"] is True


@pytest.mark.django_db
def test_cached_user_saves_do_not_overwrite_unloaded_fields(client_for):
    """The request user has only identity fields loaded; saving it must not blank the rest."""
    student = StudentFactory(bio="keep me")
    client = client_for(student)
    client.get("/api/v1/me")
    response = client.patch("/api/v1/me", {"display_name": "Renamed"}, format="json")
    assert response.status_code == 200
    student.refresh_from_db()
    assert (student.display_name, student.bio) == ("Renamed", "keep me")
    assert student.check_password("correct-horse-battery-staple")
