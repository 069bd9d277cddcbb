"""GET /notifications, the unread count, POST /notifications/read, the email settings and the
unsubscribe link."""

import pytest
from django.core import signing

from tests.accounts.factories import StudentFactory, TutorFactory
from wemaster.notifications import selectors, services
from wemaster.notifications.models import EmailOptOut, Notification, NotificationKind

pytestmark = pytest.mark.django_db

LIST = "/api/v1/notifications"


def notify_n(user, count: int, kind=NotificationKind.PAYOUT_PAID) -> list[Notification]:
    return [
        services.notification_create(
            recipient_id=user.id,
            kind=kind,
            cause_key=f"test:{index}",
            payload={"withdrawal": index, "amount": 2_000 + index, "currency": "USD"},
        )
        for index in range(count)
    ]


def test_the_list_is_the_callers_newest_first_in_pages(client_for):
    tutor, other = TutorFactory(), TutorFactory()
    mine = notify_n(tutor, 5)
    notify_n(other, 2)
    client = client_for(tutor)
    first = client.get(LIST, {"page_size": 3}).json()
    assert [row["id"] for row in first["results"]] == [n.id for n in reversed(mine)][:3]
    second = client.get(first["next"]).json()
    assert [row["id"] for row in second["results"]] == [mine[1].id, mine[0].id]
    assert second["next"] is None and second["previous"] is not None
    row = first["results"][0]
    assert row == {
        "id": mine[-1].id,
        "kind": "payout_paid",
        "text": "Your payout of 20.04 USD was paid.",
        "data": {"withdrawal": 4, "amount": 2_004, "currency": "USD"},
        "created_at": row["created_at"],
        "read_at": None,
    }


def test_the_list_costs_the_same_queries_for_two_rows_or_fifty(client_for, django_assert_num_queries):
    tutor = TutorFactory()
    notify_n(tutor, 50)
    client = client_for(tutor)
    client.get(LIST)  # warm the token/user caches
    with django_assert_num_queries(1) as small:
        assert len(client.get(LIST, {"page_size": 2}).json()["results"]) == 2
    with django_assert_num_queries(len(small.captured_queries)):
        assert len(client.get(LIST, {"page_size": 50, "unread": "true"}).json()["results"]) == 50


def test_reading_one_or_all_up_to_an_id(client_for):
    tutor = TutorFactory()
    rows = notify_n(tutor, 4)
    client = client_for(tutor)
    assert client.get(f"{LIST}/unread-count").json() == {"unread": 4}
    response = client.post(f"{LIST}/read", {"id": rows[3].id}, format="json")
    assert (response.status_code, response.json()) == (200, {"unread": 3})
    assert client.post(f"{LIST}/read", {"up_to": rows[1].id}, format="json").json() == {"unread": 1}
    unread = client.get(LIST, {"unread": "true"}).json()["results"]
    assert [row["id"] for row in unread] == [rows[2].id]
    assert client.get(LIST).json()["results"][0]["read_at"] is not None


def test_someone_elses_notification_is_404_and_stays_unread(client_for):
    tutor, intruder = TutorFactory(), TutorFactory()
    (row,) = notify_n(tutor, 1)
    for body in ({"id": row.id}, {"up_to": row.id}):
        response = client_for(intruder).post(f"{LIST}/read", body, format="json")
        assert (response.status_code, response.json()["code"]) == (404, "not_found")
    row.refresh_from_db()
    assert row.read_at is None


@pytest.mark.parametrize(
    "body,code",
    [
        ({}, "validation_error"),
        ({"id": 1, "up_to": 2}, "validation_error"),
        ({"id": 0}, "validation_error"),
        ({"id": 2**63}, "validation_error"),
        ({"ids": [1]}, "unknown_field"),
    ],
)
def test_a_read_body_names_one_id_or_one_bound(client_for, body, code):
    response = client_for(StudentFactory()).post(f"{LIST}/read", body, format="json")
    assert (response.status_code, response.json()["code"]) == (400, code)


def test_email_settings_per_kind(client_for):
    student = StudentFactory()
    client = client_for(student)
    assert client.get("/api/v1/me/notification-settings").json() == dict.fromkeys(NotificationKind.values, True)
    body = client.patch("/api/v1/me/notification-settings", {"messages": False}, format="json").json()
    assert body["messages"] is False and body["lesson_booked"] is True
    body = client.patch("/api/v1/me/notification-settings", {"messages": True}, format="json").json()
    assert all(body.values())
    response = client.patch("/api/v1/me/notification-settings", {"newsletter": False}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "unknown_field")


def test_the_unsubscribe_link_turns_email_off_without_signing_in(api_client):
    student = StudentFactory()
    token = services.unsubscribe_token(user_id=student.id, kind=NotificationKind.MESSAGES)
    response = api_client.get(f"{LIST}/unsubscribe", {"token": token})
    assert (response.status_code, response.json()) == (200, {"kind": "messages", "email": False})
    assert api_client.get(f"{LIST}/unsubscribe", {"token": token}).status_code == 200  # again: no change
    settings_now = selectors.email_settings(user=student)
    assert settings_now["messages"] is False and settings_now["lesson_booked"] is True
    everything = services.unsubscribe_token(user_id=student.id)
    assert api_client.get(f"{LIST}/unsubscribe", {"token": everything}).json()["kind"] == "all"
    assert EmailOptOut.objects.filter(user=student).count() == len(NotificationKind.values)


@pytest.mark.parametrize(
    "token",
    [
        "nonsense",
        signing.dumps({"u": 1, "k": "all"}, salt="another purpose"),
        signing.dumps({"u": 999_999, "k": "all"}, salt=services.UNSUBSCRIBE_SALT),
        signing.dumps({"u": 1, "k": "newsletter"}, salt=services.UNSUBSCRIBE_SALT),
        signing.dumps(["u", 1], salt=services.UNSUBSCRIBE_SALT),
    ],
)
def test_a_forged_unsubscribe_token_is_400_invalid_token(api_client, token):
    StudentFactory()
    response = api_client.get(f"{LIST}/unsubscribe", {"token": token})
    assert (response.status_code, response.json()["code"]) == (400, "invalid_token")
    assert not EmailOptOut.objects.exists()
