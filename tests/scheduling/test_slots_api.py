"""GET /api/v1/tutors/{id}/slots: availability minus booked lessons and their buffer, one query
per computation, cached per tutor until a booking, cancellation or availability change."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.utils import timezone

from tests.accounts.factories import StudentFactory, TutorFactory
from tests.ledger.factories import funded_wallet
from tests.lessons.factories import book, tutor_teaching
from tests.scheduling.factories import set_availability
from wemaster.lessons import services as lessons

MONDAY = 0


def next_monday() -> date:
    today = timezone.now().date()
    return today + timedelta(days=7 - today.weekday())  # 1 to 7 days ahead


def at(day: date, clock: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(clock), tzinfo=UTC)


def url(tutor_id: int, day: date, *, duration: int = 60, start: str = "00:00", days: int = 1) -> str:
    since = at(day, start)
    until = since + timedelta(days=days)
    query = f"from={since.isoformat().replace('+00:00', 'Z')}&to={until.isoformat().replace('+00:00', 'Z')}"
    return f"/api/v1/tutors/{tutor_id}/slots?{query}&duration={duration}"


def starts(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [moment[11:16] for moment in response.json()["slots"]]


@pytest.fixture
def monday_tutor(db):
    """Mondays 08:00-14:00 UTC."""
    tutor = tutor_teaching()
    set_availability(tutor, windows=[(MONDAY, "08:00", "14:00")], timezone="UTC")
    return tutor


def test_slots_are_the_windows_on_a_half_hour_step(api_client, monday_tutor):
    day = next_monday()
    response = api_client.get(url(monday_tutor.id, day))
    assert starts(response) == [f"{h:02d}:{m:02d}" for h in range(8, 13) for m in (0, 30)] + ["13:00"]
    body = response.json()
    assert (body["tutor"], body["timezone"], body["duration_minutes"]) == (monday_tutor.id, "UTC", 60)
    assert body["slots"][0] == f"{day.isoformat()}T08:00:00Z"
    assert body["from"] == f"{day.isoformat()}T00:00:00Z"


def test_booked_lessons_and_their_buffer_are_not_offered(api_client, monday_tutor, django_capture_on_commit_callbacks):
    day = next_monday()
    student = StudentFactory()
    funded_wallet(student, 100_000)
    assert "10:00" in starts(api_client.get(url(monday_tutor.id, day)))  # cached now
    with django_capture_on_commit_callbacks(execute=True):
        book(student=student, tutor=monday_tutor, starts_at=at(day, "10:00"), duration_minutes=60)
    # 09:00 would end at 10:00, inside the 10-minute buffer; 11:00 starts inside it too.
    assert starts(api_client.get(url(monday_tutor.id, day))) == ["08:00", "08:30", "11:30", "12:00", "12:30", "13:00"]


def test_cancellation_and_availability_changes_reach_the_cached_list(
    api_client, monday_tutor, django_capture_on_commit_callbacks
):
    day = next_monday()
    student = StudentFactory()
    funded_wallet(student, 100_000)
    with django_capture_on_commit_callbacks(execute=True):
        lesson = book(student=student, tutor=monday_tutor, starts_at=at(day, "08:00"), duration_minutes=60)
    assert "08:00" not in starts(api_client.get(url(monday_tutor.id, day)))
    with django_capture_on_commit_callbacks(execute=True):
        lessons.lesson_cancel(lesson_id=lesson.pk, actor=student)
    assert starts(api_client.get(url(monday_tutor.id, day)))[:2] == ["08:00", "08:30"]
    with django_capture_on_commit_callbacks(execute=True):
        set_availability(monday_tutor, windows=[(MONDAY, "12:00", "14:00")], timezone="UTC")
    assert starts(api_client.get(url(monday_tutor.id, day))) == ["12:00", "12:30", "13:00"]


def test_a_rolled_back_booking_leaves_the_cached_list_alone(api_client, monday_tutor, django_assert_num_queries):
    """Invalidation is on commit: without one the cached entry is still served (no query)."""
    day = next_monday()
    funded = StudentFactory()
    funded_wallet(funded, 100_000)
    first = starts(api_client.get(url(monday_tutor.id, day)))
    book(student=funded, tutor=monday_tutor, starts_at=at(day, "08:00"))  # the test's transaction never commits
    with django_assert_num_queries(0):
        assert starts(api_client.get(url(monday_tutor.id, day))) == first


def test_exceptions_take_a_day_off_add_a_window_and_take_hours_off(api_client, db):
    tutor = tutor_teaching()
    day = next_monday()
    set_availability(
        tutor,
        windows=[(MONDAY, "08:00", "12:00"), (MONDAY + 1, "08:00", "10:00")],
        exceptions=[
            (day, "unavailable"),
            (day, "available", "18:00", "19:00"),
            (day + timedelta(days=1), "unavailable", "08:30", "09:00"),
        ],
        timezone="UTC",
    )
    assert starts(api_client.get(url(tutor.id, day, duration=30))) == ["18:00", "18:30"]
    assert starts(api_client.get(url(tutor.id, day + timedelta(days=1), duration=30))) == ["08:00", "09:00", "09:30"]


def test_slots_follow_the_tutors_zone(api_client, db):
    """Mondays 09:00-10:00 in Tokyo (UTC+9, no DST) is Monday 00:00-01:00 UTC."""
    tutor = tutor_teaching()
    set_availability(tutor, windows=[(MONDAY, "09:00", "10:00")], timezone="Asia/Tokyo")
    response = api_client.get(url(tutor.id, next_monday(), duration=30))
    assert starts(response) == ["00:00", "00:30"]
    assert response.json()["timezone"] == "Asia/Tokyo"


def test_past_slots_are_not_offered(api_client, db):
    tutor = tutor_teaching()
    set_availability(tutor, windows=[(day, "00:00", "24:00") for day in range(7)], timezone="UTC")
    now = timezone.now()
    response = api_client.get(f"/api/v1/tutors/{tutor.id}/slots")  # default: from now, 7 days, 60 minutes
    slots = [datetime.fromisoformat(moment) for moment in response.json()["slots"]]
    assert slots and min(slots) > now and max(slots) < now + timedelta(days=7)
    assert len(slots) in (7 * 48 - 1, 7 * 48)  # every half hour, but the one already started


def test_no_availability_no_slots(api_client, db):
    tutor = TutorFactory(profile__availability=False)
    assert starts(api_client.get(url(tutor.id, next_monday(), days=7))) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query, field",
    [
        ("from=2030-01-02T00:00:00Z&to=2030-01-01T00:00:00Z", "to"),
        ("from=2030-01-01T00:00:00Z&to=2030-02-01T00:00:01Z", "to"),  # 31 days and a second
        ("from=2030-01-01T00:00:00", "from"),  # no zone
        ("from=yesterday", "from"),
        ("duration=50", "duration"),
        ("duration=0", "duration"),
        ("duration=99999999999999999999", "duration"),
        ("from=9999-12-31T00:00:00Z", "from"),
        ("from=0001-01-01T00:00:00Z&to=0001-01-02T00:00:00Z", "from"),
    ],
)
def test_bad_ranges_and_durations_are_400(api_client, monday_tutor, query, field):
    response = api_client.get(f"/api/v1/tutors/{monday_tutor.id}/slots?{query}")
    assert (response.status_code, response.json()["code"]) == (400, "validation_error"), response.content
    assert field in response.json()["fields"]


@pytest.mark.django_db
def test_31_days_is_the_longest_range(api_client, monday_tutor):
    response = api_client.get(
        f"/api/v1/tutors/{monday_tutor.id}/slots?from=2030-01-01T00:00:00Z&to=2030-02-01T00:00:00Z"
    )
    assert len(starts(response)) == 4 * 11  # four Mondays in January 2030, eleven slots each


@pytest.mark.django_db
def test_not_a_listed_tutor_is_404(api_client):
    for user in (StudentFactory(), TutorFactory(profile__hourly_rate=0)):
        response = api_client.get(f"/api/v1/tutors/{user.id}/slots")
        assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert api_client.get("/api/v1/tutors/999999/slots").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("booked", [0, 4])
def test_one_query_per_computation_none_when_cached(
    api_client, monday_tutor, settings, booked, django_assert_num_queries
):
    """Profile, windows, exceptions and booked lessons come in one query whatever their number;
    the same request again is served from the cache without one."""
    settings.CACHALOT_ENABLED = False
    day = next_monday()
    lesson_starts = [
        at(day, "08:00"),
        at(day, "13:00"),
        at(day + timedelta(weeks=1), "08:00"),
        at(day + timedelta(weeks=1), "13:00"),
    ]
    for starts_at in lesson_starts[:booked]:
        student = StudentFactory()
        funded_wallet(student, 100_000)
        book(student=student, tutor=monday_tutor, starts_at=starts_at, duration_minutes=30)
    with django_assert_num_queries(1):
        computed = api_client.get(url(monday_tutor.id, day, days=14))
    with django_assert_num_queries(0):
        cached = api_client.get(url(monday_tutor.id, day, days=14))
    assert computed.json() == cached.json()
    # Two Mondays of eleven slots; a 08:00 lesson takes 08:00 and 08:30, a 13:00 one (with its
    # buffer) 12:00, 12:30 and 13:00.
    assert len(computed.json()["slots"]) == (22 if not booked else 12)


def test_a_zone_change_reaches_the_cached_list(
    api_client, client_for, monday_tutor, django_capture_on_commit_callbacks
):
    """The same windows are other instants in another zone: PATCH /me invalidates on commit."""
    day = next_monday()
    assert starts(api_client.get(url(monday_tutor.id, day)))[0] == "08:00"
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(monday_tutor).patch(
            "/api/v1/me", {"tutor_profile": {"timezone": "Asia/Tokyo"}}, format="json"
        )
    assert response.status_code == 200, response.content
    assert starts(api_client.get(url(monday_tutor.id, day)))[0] == "00:00"  # Monday 08:00 in Tokyo is Sunday 23:00 UTC


def test_ranges_within_one_grid_step_share_a_cached_entry(
    api_client, monday_tutor, settings, django_assert_num_queries
):
    """The cached range is widened to the slot grid (so `from` defaulting to now reuses an entry
    for up to a step); the answer keeps to the range asked for."""
    settings.CACHALOT_ENABLED = False
    day = next_monday()
    with django_assert_num_queries(1):
        assert starts(api_client.get(url(monday_tutor.id, day, start="08:10", days=1)))[0] == "08:30"
    with django_assert_num_queries(0):
        assert starts(api_client.get(url(monday_tutor.id, day, start="08:20", days=1)))[0] == "08:30"
