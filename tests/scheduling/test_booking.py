"""Booking must fall inside the tutor's availability (409 outside_availability), and the slot
race stays race-proof."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connections
from rest_framework.test import APIClient

from tests.accounts.factories import StudentFactory, TutorFactory, token_for
from tests.ledger.factories import funded_wallet
from tests.lessons.factories import SUBJECT, book, tutor_teaching
from tests.scheduling.factories import BERLIN, set_availability
from tests.scheduling.test_slots_api import MONDAY, at, next_monday
from wemaster.lessons.models import Lesson
from wemaster.scheduling.errors import OutsideAvailability

SUNDAY = 6


def body(tutor, starts_at: datetime, duration: int = 60) -> dict:
    return {"tutor": tutor.id, "subject": SUBJECT, "starts_at": starts_at.isoformat(), "duration_minutes": duration}


@pytest.fixture
def berlin_mornings(db):
    """Mondays 09:00-12:00 Europe/Berlin."""
    tutor = tutor_teaching()
    set_availability(tutor, windows=[(MONDAY, "09:00", "12:00")])
    return tutor


@pytest.mark.django_db
def test_booking_outside_availability_is_409_and_holds_nothing(client_for, berlin_mornings):
    student = StudentFactory()
    wallet = funded_wallet(student, 100_000)
    client = client_for(student)
    nine = datetime.combine(next_monday(), time(9), tzinfo=ZoneInfo(BERLIN))  # 09:00 in Berlin
    for starts_at, duration in ((nine - timedelta(minutes=30), 60), (nine + timedelta(hours=2, minutes=30), 60)):
        response = client.post("/api/v1/lessons", body(berlin_mornings, starts_at, duration), format="json")
        assert (response.status_code, response.json()["code"]) == (409, "outside_availability"), response.content
    wallet.refresh_from_db()
    assert wallet.held == 0 and not Lesson.objects.exists()
    response = client.post("/api/v1/lessons", body(berlin_mornings, nine, 180), format="json")
    assert response.status_code == 201, response.content


@pytest.mark.django_db
def test_a_tutor_without_availability_is_not_bookable(client_for):
    student, tutor = StudentFactory(), TutorFactory(profile__availability=False)
    funded_wallet(student, 100_000)
    starts_at = at(next_monday(), "10:00")
    response = client_for(student).post("/api/v1/lessons", body(tutor, starts_at), format="json")
    assert (response.status_code, response.json()["code"]) == (409, "outside_availability")


@pytest.mark.django_db
def test_a_day_off_refuses_booking_an_extra_window_accepts_it(db):
    tutor, student = tutor_teaching(), StudentFactory()
    funded_wallet(student, 100_000)
    monday = next_monday()
    set_availability(
        tutor,
        windows=[(MONDAY, "08:00", "12:00")],
        exceptions=[(monday, "unavailable"), (monday, "available", "20:00", "21:00")],
        timezone="UTC",
    )
    with pytest.raises(OutsideAvailability):
        book(student=student, tutor=tutor, starts_at=at(monday, "08:00"))
    assert book(student=student, tutor=tutor, starts_at=at(monday, "20:00")).ends_at == at(monday, "21:00")


@pytest.mark.django_db
def test_booking_across_the_spring_gap_and_in_the_repeated_hour(db):
    """Sunday 00:00-06:00 Berlin: a lesson may span the missing hour, and each instant of the
    repeated 02:00-03:00 is a slot of its own."""
    tutor, student = tutor_teaching(), StudentFactory()
    funded_wallet(student, 100_000)
    set_availability(tutor, windows=[(SUNDAY, "00:00", "06:00")])
    early = datetime(2026, 12, 1, tzinfo=UTC)
    across_gap = book(student=student, tutor=tutor, starts_at=datetime(2027, 3, 28, 0, 30, tzinfo=UTC), now=early)
    assert across_gap.ends_at == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)  # 01:30 CET to 03:30 CEST
    first_two = book(student=student, tutor=tutor, starts_at=datetime(2027, 10, 31, 0, 0, tzinfo=UTC), now=early)
    second_two = book(student=student, tutor=tutor, starts_at=datetime(2027, 10, 31, 1, 0, tzinfo=UTC), now=early)
    assert first_two.ends_at == second_two.starts_at  # 02:00 CEST-03:00 CEST=02:00 CET, then 02:00-03:00 CET
    with pytest.raises(OutsideAvailability):  # 06:00 CET is 05:00 UTC: the window is over
        book(student=student, tutor=tutor, starts_at=datetime(2027, 10, 31, 4, 30, tzinfo=UTC), now=early)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_students_one_slot_one_201_one_409(settings):
    settings.RATE_LIMITS_ENABLED = False
    tutor = tutor_teaching()
    set_availability(tutor, windows=[(MONDAY, "10:00", "11:00")], timezone="UTC")
    students = [StudentFactory(), StudentFactory()]
    tokens = []
    for student in students:
        funded_wallet(student, 100_000)
        tokens.append(token_for(student))
    payload = body(tutor, at(next_monday(), "10:00"))

    def post(token: str) -> tuple[int, str | None]:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        try:
            response = client.post("/api/v1/lessons", payload, format="json")
            return response.status_code, response.json().get("code")
        finally:
            connections.close_all()

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(post, tokens))
    assert outcomes == [(201, None), (409, "slot_taken")]
    assert Lesson.objects.filter(tutor=tutor).count() == 1
