"""Device tokens, logout, password change and reset, deactivation: every revocation is refused
by the very next request, even with the identity cached, and reaches open sockets through the
channel layer (channels-redis here: a test channel joins the user's group)."""

import asyncio
import re
import time
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.apps import apps
from django.core import mail
from django.db import transaction
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rest_framework.test import APIClient

from tests.accounts.factories import PASSWORD, StudentFactory, TutorFactory, token_for
from tests.ledger.factories import funded_wallet
from tests.lessons.factories import book, tutor_teaching
from wemaster.accounts import sessions
from wemaster.accounts.models import DeviceToken, Role, User
from wemaster.core.revocation import LAYER_REVOKED_TYPE, token_key_of, user_group

pytestmark = pytest.mark.django_db

LOGIN = "/api/v1/auth/token"
LOGOUT = "/api/v1/auth/logout"
TOKENS = "/api/v1/auth/tokens"
PASSWORD_CHANGE = "/api/v1/auth/password"
RESET = "/api/v1/auth/password-reset"
RESET_CONFIRM = "/api/v1/auth/password-reset/confirm"
ME = "/api/v1/me"
NEW_PASSWORD = "a-brand-new-passphrase"


def with_token(raw: str, **headers) -> APIClient:
    client = APIClient(**headers)
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    return client


def works(raw: str) -> bool:
    return with_token(raw).get(ME).status_code == 200


def warmed(raw: str) -> str:
    """The token, with its identity cached (memory level and Redis)."""
    assert works(raw) and works(raw)
    return raw


def login(email: str, password: str = PASSWORD, **extra) -> APIClient:
    return APIClient().post(LOGIN, {"email": email, "password": password, **extra}, format="json")


def limit(settings, **rates):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
    }


class Listener:
    """A test channel in the user's group on the real channel layer."""

    def __init__(self, user_id: int):
        self.layer = get_channel_layer()
        self.channel = async_to_sync(self.layer.new_channel)()
        async_to_sync(self.layer.group_add)(user_group(user_id), self.channel)

    def messages(self, wait: float = 1.0) -> list[dict]:
        async def drain():
            received = []
            while True:
                try:
                    received.append(await asyncio.wait_for(self.layer.receive(self.channel), wait))
                except TimeoutError:
                    return received

        return async_to_sync(drain)()

    def revoked_keys(self, wait: float = 1.0) -> list[str | None]:
        messages = self.messages(wait)
        assert all(message["type"] == LAYER_REVOKED_TYPE for message in messages), messages
        return [message["token_key"] for message in messages]


# --- login, one token per device ------------------------------------------------------------------


def test_each_login_is_a_device_named_by_the_client_or_its_user_agent():
    student = StudentFactory()
    phone = login(student.email, device="Ada's phone").json()["token"]
    laptop = APIClient(HTTP_USER_AGENT="Mozilla/5.0\x00 (X11;\tLinux)\n" + "x" * 500)
    laptop_token = laptop.post(LOGIN, {"email": student.email, "password": PASSWORD}, format="json").json()["token"]
    assert phone != laptop_token and works(phone) and works(laptop_token)
    names = list(DeviceToken.objects.filter(user=student).order_by("id").values_list("name", flat=True))
    assert names[0] == "Ada's phone"
    assert names[1].startswith("Mozilla/5.0 (X11; Linux) xxx") and len(names[1]) == 64


def test_a_device_name_over_the_limit_is_400():
    student = StudentFactory()
    response = login(student.email, device="d" * 65)
    assert response.status_code == 400
    assert "device" in response.json()["fields"]


def test_beyond_the_cap_a_login_revokes_the_least_recently_used_token(settings, django_capture_on_commit_callbacks):
    settings.AUTH_TOKENS_PER_USER = 3
    student = StudentFactory()
    first, second, third = (warmed(token_for(student, name=f"device {n}")) for n in range(3))
    DeviceToken.objects.filter(user=student, name="device 1").update(last_used=timezone.now() - timedelta(days=3))
    with django_capture_on_commit_callbacks(execute=True):
        fourth = login(student.email).json()["token"]
    assert [works(raw) for raw in (first, second, third, fourth)] == [True, False, True, True]
    assert DeviceToken.objects.filter(user=student).count() == 3


# --- the token list --------------------------------------------------------------------------------


def test_the_list_shows_the_callers_devices_never_a_secret(client_for):
    student, other = StudentFactory(), StudentFactory()
    current = token_for(student, name="this laptop")
    token_for(student, name="phone")
    token_for(other, name="someone else's")
    body = with_token(current).get(TOKENS).json()
    assert set(body) == {"results", "next", "previous"}
    assert [row["name"] for row in body["results"]] == ["phone", "this laptop"]
    assert [row["current"] for row in body["results"]] == [False, True]
    for row in body["results"]:
        assert set(row) == {"id", "name", "created", "last_used", "expiry", "current"}
    text = str(body)
    for token in DeviceToken.objects.filter(user=student):
        assert token.digest not in text and token.token_key not in text


def test_the_list_is_cursor_paginated_in_a_constant_number_of_queries(django_assert_num_queries, settings):
    settings.CACHALOT_ENABLED = False
    student = StudentFactory()
    current = warmed(token_for(student))
    client = with_token(current)
    for few_or_many in (2, 12):
        while DeviceToken.objects.filter(user=student).count() < few_or_many:
            token_for(student)
        with django_assert_num_queries(1):
            body = client.get(f"{TOKENS}?page_size=5").json()
        assert len(body["results"]) == min(5, few_or_many)
    assert body["next"] and body["previous"] is None
    rest = client.get(body["next"]).json()
    assert len(rest["results"]) == 5


def test_expired_tokens_are_not_listed_and_are_pruned():
    student = StudentFactory()
    current = token_for(student)
    DeviceToken.objects.create(user=student, expiry=timedelta(seconds=-1), name="stale")
    assert [row["name"] for row in with_token(current).get(TOKENS).json()["results"]] == ["tests"]
    assert sessions.tokens_prune() == 1
    assert list(DeviceToken.objects.filter(user=student).values_list("name", flat=True)) == ["tests"]


# --- revoking one token, logout --------------------------------------------------------------------


def test_deleting_a_token_revokes_it_at_once_and_closes_its_sockets(django_capture_on_commit_callbacks):
    student = StudentFactory()
    current, phone = warmed(token_for(student)), warmed(token_for(student, name="phone"))
    phone_id = DeviceToken.objects.get(user=student, name="phone").pk
    listener = Listener(student.id)
    with django_capture_on_commit_callbacks(execute=True):
        response = with_token(current).delete(f"{TOKENS}/{phone_id}")
    assert response.status_code == 204
    assert listener.revoked_keys() == [token_key_of(phone)]
    assert not works(phone) and works(current)


def test_another_users_token_is_404_and_keeps_working(django_capture_on_commit_callbacks):
    student, other = StudentFactory(), StudentFactory()
    others = warmed(token_for(other))
    others_id = DeviceToken.objects.get(user=other).pk
    listener = Listener(other.id)
    with django_capture_on_commit_callbacks(execute=True):
        response = with_token(token_for(student)).delete(f"{TOKENS}/{others_id}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert works(others)
    assert listener.messages(wait=0.5) == []


def test_logout_revokes_the_token_in_use_at_once(django_capture_on_commit_callbacks):
    student = StudentFactory()
    current, other_device = warmed(token_for(student)), warmed(token_for(student))
    listener = Listener(student.id)
    with django_capture_on_commit_callbacks(execute=True):
        response = with_token(current).post(LOGOUT)
    assert response.status_code == 204
    assert listener.revoked_keys() == [token_key_of(current)]
    response = with_token(current).get(ME)
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"
    assert works(other_device)


def test_a_revocation_that_rolls_back_sends_nothing_and_revokes_nothing(django_capture_on_commit_callbacks):
    student = StudentFactory()
    raw = warmed(token_for(student))
    token = DeviceToken.objects.get(user=student)
    listener = Listener(student.id)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            sessions.token_revoke(user=student, token_id=token.pk)
            raise RuntimeError("the change fails after the revocation")
    assert callbacks == []
    assert listener.messages(wait=0.5) == []
    assert works(raw)


# --- password change ---------------------------------------------------------------------------------


def test_password_change_keeps_the_current_token_and_revokes_the_others(django_capture_on_commit_callbacks):
    student = StudentFactory()
    current = warmed(token_for(student))
    others = [warmed(token_for(student)) for _ in range(2)]
    listener = Listener(student.id)
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    with django_capture_on_commit_callbacks(execute=True):
        response = with_token(current).post(PASSWORD_CHANGE, body, format="json")
    assert response.status_code == 204, response.content
    assert sorted(listener.revoked_keys()) == sorted(token_key_of(raw) for raw in others)  # never None
    assert works(current) and not any(works(raw) for raw in others)
    assert login(student.email).status_code == 400
    assert login(student.email, NEW_PASSWORD).status_code == 200


def test_a_session_changing_its_password_stays_signed_in_and_every_token_goes(client):
    """The browsable API (session authentication) has no token in use: all tokens are revoked."""
    student = StudentFactory()
    raw = token_for(student)
    client.force_login(student)
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    assert client.post(PASSWORD_CHANGE, body, content_type="application/json").status_code == 204
    assert client.get(ME).status_code == 200
    assert not works(raw)


def test_password_change_needs_the_current_password_and_a_strong_new_one():
    student = StudentFactory()
    client = with_token(token_for(student))
    response = client.post(PASSWORD_CHANGE, {"current_password": "wrong", "new_password": NEW_PASSWORD}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert list(response.json()["fields"]) == ["current_password"]
    response = client.post(PASSWORD_CHANGE, {"current_password": PASSWORD, "new_password": "12345678"}, format="json")
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["new_password"]
    student.refresh_from_db()
    assert student.check_password(PASSWORD)


# --- password reset ----------------------------------------------------------------------------------


def reset_link(message) -> dict:
    return {
        "uid": re.search(r"uid:\s+(\S+)", message.body).group(1),
        "token": re.search(r"token:\s+(\S+)", message.body).group(1),
    }


def test_a_reset_request_answers_the_same_whether_or_not_the_account_exists(django_capture_on_commit_callbacks):
    student = StudentFactory()
    inactive = StudentFactory(is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        answers = [
            APIClient().post(RESET, {"email": email}, format="json")
            for email in ("nobody@example.test", inactive.email, student.email.upper())
        ]
    assert [(r.status_code, r.content) for r in answers] == [(204, b"")] * 3
    assert [message.to for message in mail.outbox] == [[student.email]]


def test_reset_confirm_sets_the_password_once_and_signs_out_every_device(django_capture_on_commit_callbacks):
    student = StudentFactory()
    tokens = [warmed(token_for(student)) for _ in range(2)]
    with django_capture_on_commit_callbacks(execute=True):
        APIClient().post(RESET, {"email": student.email}, format="json")
    link = reset_link(mail.outbox[0])
    listener = Listener(student.id)
    with django_capture_on_commit_callbacks(execute=True):
        response = APIClient().post(RESET_CONFIRM, {**link, "new_password": NEW_PASSWORD}, format="json")
    assert response.status_code == 204, response.content
    assert listener.revoked_keys() == [None]  # every socket of the user
    assert not any(works(raw) for raw in tokens)
    assert login(student.email, NEW_PASSWORD).status_code == 200
    again = APIClient().post(RESET_CONFIRM, {**link, "new_password": "yet-another-passphrase"}, format="json")
    assert again.status_code == 400
    assert again.json()["code"] == "invalid_reset_token"


@pytest.mark.parametrize(
    "link,code",
    [
        ({"uid": "not-base64!", "token": "x"}, "invalid_reset_token"),
        ({"uid": "MTAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMA", "token": "x"}, "invalid_reset_token"),  # 10**30
        ({"uid": "MQ", "token": "x" * 128}, "invalid_reset_token"),
        ({"uid": "", "token": ""}, "validation_error"),
    ],
)
def test_a_bad_reset_link_is_400(link, code):
    student = StudentFactory()
    response = APIClient().post(RESET_CONFIRM, {**link, "new_password": NEW_PASSWORD}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == code
    student.refresh_from_db()
    assert student.check_password(PASSWORD)


def test_a_reset_token_of_another_user_is_refused(django_capture_on_commit_callbacks):
    student, victim = StudentFactory(), StudentFactory()
    with django_capture_on_commit_callbacks(execute=True):
        APIClient().post(RESET, {"email": student.email}, format="json")
    link = reset_link(mail.outbox[0])
    link["uid"] = urlsafe_base64_encode(force_bytes(victim.pk))
    response = APIClient().post(RESET_CONFIRM, {**link, "new_password": NEW_PASSWORD}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_reset_token"


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_reset_mail_is_sent_by_a_real_worker_and_its_link_works(settings):
    from celery.contrib.testing.worker import start_worker

    from wemaster.celery import app as celery_app

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    celery_app.conf.task_always_eager = False
    student = StudentFactory()
    raw = token_for(student)
    with start_worker(celery_app, perform_ping_check=False, pool="solo", shutdown_timeout=10):
        response = APIClient().post(RESET, {"email": student.email}, format="json")
        assert response.status_code == 204
        deadline = time.monotonic() + 20
        while not mail.outbox and time.monotonic() < deadline:
            time.sleep(0.1)
    (message,) = mail.outbox
    assert message.to == [student.email] and "password" in message.subject.lower()
    response = APIClient().post(RESET_CONFIRM, {**reset_link(message), "new_password": NEW_PASSWORD}, format="json")
    assert response.status_code == 204, response.content
    assert not works(raw)
    assert login(student.email, NEW_PASSWORD).status_code == 200


# --- deactivation --------------------------------------------------------------------------------------


def money_rows() -> dict:
    return {
        model._meta.label: list(model.objects.order_by("pk").values())
        for model in apps.get_models()
        if model._meta.app_label in ("ledger", "lessons", "wallet", "earnings")
    }


def test_deactivation_revokes_everything_and_keeps_the_money(django_capture_on_commit_callbacks):
    student = StudentFactory()
    funded_wallet(student, 10_000)
    lesson = book(student=student, tutor=tutor_teaching())
    tokens = [warmed(token_for(student)) for _ in range(2)]
    before = money_rows()
    listener = Listener(student.id)
    with django_capture_on_commit_callbacks(execute=True):
        response = with_token(tokens[0]).delete(ME, {"current_password": PASSWORD}, format="json")
    assert response.status_code == 204, response.content
    assert listener.revoked_keys() == [None]
    assert not any(works(raw) for raw in tokens)
    assert not DeviceToken.objects.filter(user=student).exists()
    student.refresh_from_db()
    assert student.is_active is False
    assert money_rows() == before and lesson.pk in {row["id"] for row in before["lessons.Lesson"]}
    assert login(student.email).json()["code"] == "invalid_credentials"
    body = {"email": student.email, "password": PASSWORD, "role": "student", "display_name": "Again"}
    assert APIClient().post("/api/v1/auth/register", body, format="json").status_code == 400  # the email stays taken


def test_deactivation_needs_the_current_password():
    student = StudentFactory()
    raw = token_for(student)
    response = with_token(raw).delete(ME, {"current_password": "wrong"}, format="json")
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["current_password"]
    assert works(raw)


def test_a_deactivated_tutor_leaves_the_directory(django_capture_on_commit_callbacks):
    tutor = tutor_teaching()
    assert tutor.id in {row["id"] for row in APIClient().get("/api/v1/tutors").json()["results"]}
    with django_capture_on_commit_callbacks(execute=True):
        with_token(token_for(tutor)).delete(ME, {"current_password": PASSWORD}, format="json")
    assert tutor.id not in {row["id"] for row in APIClient().get("/api/v1/tutors").json()["results"]}


# --- saves that take access away (admin, shell): every socket closes -----------------------------------


@pytest.mark.parametrize(
    "change",
    [{"is_active": False}, {"role": Role.TUTOR}],
    ids=["deactivated", "role-changed"],
)
def test_a_save_that_takes_access_away_closes_every_socket(change, django_capture_on_commit_callbacks):
    student = StudentFactory()
    listener = Listener(student.id)
    user = User.objects.get(pk=student.pk)
    for field, value in change.items():
        setattr(user, field, value)
    with django_capture_on_commit_callbacks(execute=True):
        user.save()
    assert listener.revoked_keys() == [None]


def test_other_saves_close_no_socket(django_capture_on_commit_callbacks):
    tutor = TutorFactory()
    listener = Listener(tutor.id)
    with django_capture_on_commit_callbacks(execute=True):
        tutor.display_name = "Renamed"
        tutor.save()
        tutor.is_active = True
        tutor.save(update_fields=["is_active"])
    assert listener.messages(wait=0.5) == []


# --- login limits: per IP and per account ------------------------------------------------------------


def test_login_is_limited_per_account_across_addresses(settings):
    limit(settings, login="100/min", login_account="3/min")
    student, other = StudentFactory(), StudentFactory()
    statuses = [
        APIClient(REMOTE_ADDR=f"10.0.0.{n}")
        .post(LOGIN, {"email": f" {student.email.upper()}", "password": "x"})
        .status_code
        for n in range(4)
    ]
    assert statuses == [400, 400, 400, 429]
    assert login(student.email).status_code == 429  # the right password too, once the account is limited
    assert login(other.email).status_code == 200


def test_login_is_limited_per_address_across_accounts(settings):
    limit(settings, login="3/min", login_account="100/min")
    users = [StudentFactory() for _ in range(4)]
    statuses = [login(user.email).status_code for user in users]
    assert statuses == [200, 200, 200, 429]
    assert (
        APIClient(REMOTE_ADDR="10.9.9.9").post(LOGIN, {"email": users[3].email, "password": PASSWORD}).status_code
        == 200
    )


def test_password_reset_requests_are_limited_per_account(settings, django_capture_on_commit_callbacks):
    limit(settings, password_reset="100/hour", password_reset_account="2/hour")
    student = StudentFactory()
    with django_capture_on_commit_callbacks(execute=True):
        statuses = [
            APIClient(REMOTE_ADDR=f"10.0.1.{n}").post(RESET, {"email": student.email}).status_code for n in range(3)
        ]
    assert statuses == [204, 204, 429]
    assert len(mail.outbox) == 2


def test_staff_revoke_a_token_in_the_admin_which_signs_the_device_out(client, django_capture_on_commit_callbacks):
    student = StudentFactory()
    phone, laptop = warmed(token_for(student, name="phone")), warmed(token_for(student, name="laptop"))
    phone_id = DeviceToken.objects.get(user=student, name="phone").pk
    client.force_login(StudentFactory(is_staff=True, is_superuser=True))
    page = client.get("/admin/accounts/devicetoken/").content.decode()
    assert "phone" in page and DeviceToken.objects.get(pk=phone_id).digest not in page
    listener = Listener(student.id)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/accounts/devicetoken/", {"action": "revoke", "_selected_action": [phone_id]}, follow=True
        )
    assert "1 token(s) revoked." in response.content.decode()
    assert listener.revoked_keys() == [token_key_of(phone)]
    assert not works(phone) and works(laptop)


def test_seed_demo_prints_a_working_token_per_login_and_replaces_the_last_runs():
    import io

    from django.core.management import call_command

    def printed_tokens() -> dict[str, str]:
        out = io.StringIO()
        call_command("seed_demo", stdout=out, stderr=io.StringIO())
        rows = [line.split() for line in out.getvalue().splitlines() if "@" in line]
        return {email: token for _role, email, _password, token in rows}

    first = printed_tokens()
    second = printed_tokens()
    assert set(first) == set(second) and len(first) >= 7
    for email, token in second.items():
        response = with_token(token).get(ME)
        assert response.status_code == 200 and response.json()["email"] == email
        assert not works(first[email])
        assert DeviceToken.objects.filter(user__email=email, name="seed_demo").count() == 1
