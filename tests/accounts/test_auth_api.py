import pytest
from knox.crypto import hash_token

from tests.accounts.factories import PASSWORD, StudentFactory, TutorFactory
from wemaster.accounts.models import DeviceToken, Role, Subject, User

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register"
TOKEN = "/api/v1/auth/token"
ME = "/api/v1/me"


def register(api_client, **overrides):
    body = {"email": "ada@example.test", "password": PASSWORD, "role": "tutor", "display_name": "Ada"}
    body.update(overrides)
    return api_client.post(REGISTER, body, format="json")


def test_register_returns_user_and_working_token(api_client):
    response = register(api_client)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert {k: body[k] for k in ("email", "role", "display_name")} == {
        "email": "ada@example.test",
        "role": "tutor",
        "display_name": "Ada",
    }
    user = User.objects.get(pk=body["id"])
    assert DeviceToken.objects.get(user=user).digest == hash_token(body["token"])
    assert user.tutor_profile.hourly_rate == 0
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {body['token']}")
    assert api_client.get(ME).json()["email"] == "ada@example.test"


def test_register_duplicate_email_is_400_case_insensitive(api_client):
    assert register(api_client).status_code == 201
    response = register(api_client, email="ADA@Example.test")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert "email" in body["fields"]
    assert User.objects.count() == 1


@pytest.mark.parametrize("password", ["short", "password123", "12345678901", "ada@example.test"])
def test_register_weak_password_is_400_with_fields(api_client, password):
    response = register(api_client, password=password)
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert response.json()["fields"]["password"]
    assert not User.objects.exists()


def test_register_rejects_unknown_role_and_missing_fields(api_client):
    response = api_client.post(REGISTER, {"email": "not-an-email", "role": "admin"}, format="json")
    assert response.status_code == 400
    assert set(response.json()["fields"]) >= {"email", "role", "password", "display_name"}


def test_token_with_valid_and_invalid_credentials(api_client):
    user = StudentFactory(email="bo@example.test")
    response = api_client.post(TOKEN, {"email": "BO@example.test", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    assert DeviceToken.objects.get(user=user).digest == hash_token(response.json()["token"])

    response = api_client.post(TOKEN, {"email": "bo@example.test", "password": "wrong"}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid_credentials",
        "detail": "Unable to log in with the provided credentials.",
    }


def test_me_requires_authentication(api_client):
    response = api_client.get(ME)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_me_with_bad_token_is_401(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token nope")
    response = api_client.get(ME)
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_tutor_updates_rate_and_subjects(client_for):
    tutor = TutorFactory()
    response = client_for(tutor).patch(
        ME,
        {"display_name": "Prof", "hourly_rate": "55.50", "subjects": [" Algebra", "algebra", "Physics"]},
        format="json",
    )
    assert response.status_code == 200, response.json()
    profile = response.json()["tutor_profile"]
    assert profile["hourly_rate"] == "55.50"
    assert profile["subjects"] == ["algebra", "physics"]
    tutor.refresh_from_db()
    assert tutor.display_name == "Prof"
    assert tutor.tutor_profile.hourly_rate == 5550
    assert Subject.objects.count() == 2


@pytest.mark.parametrize("rate", ["-1.00", "1.005", "abc", 12.5, "1e3"])
def test_bad_hourly_rate_is_400(client_for, rate):
    tutor = TutorFactory()
    response = client_for(tutor).patch(ME, {"hourly_rate": rate}, format="json")
    assert response.status_code == 400
    assert "hourly_rate" in response.json()["fields"]
    tutor.tutor_profile.refresh_from_db()
    assert tutor.tutor_profile.hourly_rate == 4000


def test_student_cannot_set_tutor_fields(client_for):
    student = StudentFactory()
    response = client_for(student).patch(ME, {"hourly_rate": "10.00"}, format="json")
    assert response.status_code == 400
    assert "hourly_rate" in response.json()["fields"]


def test_role_and_email_cannot_be_changed_through_me(client_for):
    student = StudentFactory()
    response = client_for(student).patch(
        ME, {"role": Role.TUTOR, "email": "x@example.test", "is_staff": True}, format="json"
    )
    assert response.status_code == 400 and response.json()["code"] == "unknown_field"
    assert set(response.json()["fields"]) == {"role", "email", "is_staff"}
    student.refresh_from_db()
    assert (student.role, student.is_staff) == (Role.STUDENT, False)
    assert student.email != "x@example.test"
