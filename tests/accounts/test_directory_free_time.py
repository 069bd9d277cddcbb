"""GET /api/v1/tutors?free_from=&free_to=&duration=: only tutors with a bookable slot in the range
(availability, exceptions, DST, bookings and their buffer, as the slot list computes them), in the
directory's order on keyset pages walked in bounded batches; bad ranges are 400s; a page costs the
same number of queries whatever the number of tutors in a batch."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from tests.accounts.factories import StudentFactory
from tests.ledger.factories import funded_wallet
from tests.lessons.factories import book, tutor_teaching
from tests.lessons.test_seed import no_progress
from tests.scheduling.factories import BERLIN, set_availability
from wemaster.accounts.models import TutorProfile
from wemaster.accounts.seed import DEMO_TUTORS
from wemaster.accounts.seed import seed_demo as seed_accounts
from wemaster.core.throttles import expensive_read_slot
from wemaster.scheduling.models import ExceptionKind
from wemaster.scheduling.seed import seed_demo as seed_availability

pytestmark = pytest.mark.django_db

TUTORS = "/api/v1/tutors"
MONDAY, TUESDAY, SUNDAY = 0, 1, 6


def next_monday() -> date:
    today = timezone.now().date()
    return today + timedelta(days=7 - today.weekday())  # 1 to 7 days ahead


def at(day: date, clock: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(clock), tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def free(start: datetime, end: datetime, **params) -> dict:
    return {"free_from": iso(start), "free_to": iso(end), **params}


def ids(body) -> list[int]:
    return [row["id"] for row in body["results"]]


def monday_tutor(*subjects: str, hours=("08:00", "14:00")):
    tutor = tutor_teaching(*subjects)
    set_availability(tutor, windows=[(MONDAY, *hours)], timezone="UTC")
    return tutor


def test_only_tutors_with_a_bookable_slot_in_the_range_are_listed(api_client, django_capture_on_commit_callbacks):
    day = next_monday()
    available = monday_tutor()
    booked = monday_tutor(hours=("08:00", "09:00"))  # one hour, booked below
    day_off = tutor_teaching()
    set_availability(
        day_off, windows=[(MONDAY, "08:00", "14:00")], exceptions=[(day, ExceptionKind.UNAVAILABLE)], timezone="UTC"
    )
    tuesdays = tutor_teaching()
    set_availability(tuesdays, windows=[(TUESDAY, "08:00", "14:00")], timezone="UTC")
    set_availability(tutor_teaching())  # no availability at all
    one_hour = monday_tutor(hours=("10:00", "11:00"))
    monday = free(at(day, "00:00"), at(day + timedelta(days=1), "00:00"))
    assert ids(api_client.get(TUTORS, monday).json()) == [one_hour.id, booked.id, available.id]
    student = StudentFactory()
    funded_wallet(student, 100_000)
    with django_capture_on_commit_callbacks(execute=True):
        book(student=student, tutor=booked, starts_at=at(day, "08:00"), duration_minutes=60)
    # Free-time pages are never cached: the booking shows at once.
    response = api_client.get(TUTORS, monday)
    assert response.status_code == 200, response.content
    assert ids(response.json()) == [one_hour.id, available.id]
    assert set(response.json()) == {"results", "next", "previous"}
    # The lesson must fit: 90 minutes do not fit the one-hour window.
    assert ids(api_client.get(TUTORS, {**monday, "duration": 90}).json()) == [available.id]
    # The range is half-open and the whole range counts: [10:30, 11:00) holds no 60-minute start for
    # the one-hour window (10:30 would end at 11:30).
    assert ids(api_client.get(TUTORS, free(at(day, "10:30"), at(day, "11:00"))).json()) == [available.id]
    # Tuesday: only the Tuesday tutor.
    tuesday = free(at(day + timedelta(days=1), "00:00"), at(day + timedelta(days=2), "00:00"))
    assert ids(api_client.get(TUTORS, tuesday).json()) == [tuesdays.id]
    # Without the range the directory lists everyone, as before.
    assert len(ids(api_client.get(TUTORS).json())) == 6


def test_subject_and_free_time_combine(api_client):
    day = next_monday()
    algebra = monday_tutor("algebra")
    monday_tutor("physics")
    set_availability(tutor_teaching("algebra"))  # teaches it, never free
    both = free(at(day, "08:00"), at(day, "12:00"), subject="algebra")
    assert ids(api_client.get(TUTORS, both).json()) == [algebra.id]
    assert ids(api_client.get(TUTORS, {**both, "ordering": "price"}).json()) == [algebra.id]


def test_the_repeated_fall_back_hour_counts_twice(api_client, monkeypatch):
    """Europe/Berlin, Sunday 31 October 2027: 03:00 CEST becomes 02:00 CET. A window 02:00-03:00 local
    lasts two real hours that night (00:00-02:00 UTC)."""
    monkeypatch.setattr(timezone, "now", lambda: datetime(2026, 12, 1, tzinfo=UTC))  # the date ahead
    night = tutor_teaching()
    set_availability(night, windows=[(SUNDAY, "02:00", "03:00")], timezone=BERLIN)
    later = tutor_teaching()
    set_availability(later, windows=[(SUNDAY, "03:00", "04:00")], timezone=BERLIN)  # 02:00-03:00 UTC
    # A two-hour lesson fits the "one-hour" window that night only.
    fall_back = free(datetime(2027, 10, 31, 0, tzinfo=UTC), datetime(2027, 10, 31, 1, tzinfo=UTC), duration=120)
    assert ids(api_client.get(TUTORS, fall_back).json()) == [night.id]
    a_week_later = free(datetime(2027, 11, 7, 0, tzinfo=UTC), datetime(2027, 11, 7, 1, tzinfo=UTC), duration=120)
    assert ids(api_client.get(TUTORS, a_week_later).json()) == []
    # 01:00 UTC is 02:00 CET, the second 02:00 of the night: a slot of the first tutor, not the second.
    second_two = free(datetime(2027, 10, 31, 1, tzinfo=UTC), datetime(2027, 10, 31, 2, tzinfo=UTC))
    assert ids(api_client.get(TUTORS, second_two).json()) == [night.id]
    assert ids(api_client.get(TUTORS, {**second_two, "free_to": "2027-10-31T02:30:00Z"}).json()) == [
        later.id,
        night.id,
    ]


def walk(api_client, params, *, page_size: int) -> list[dict]:
    pages = [api_client.get(TUTORS, {**params, "page_size": page_size}).json()]
    while pages[-1]["next"]:
        assert len(pages) < 50, "the walk does not end"
        pages.append(api_client.get(pages[-1]["next"]).json())
    return pages


@pytest.mark.parametrize("ordering", ["newest", "price"])
def test_pages_walk_in_batches_and_the_scan_limit_skips_no_tutor(api_client, settings, ordering):
    day = next_monday()
    tutors = []
    for index in range(9):
        tutor = tutor_teaching()
        tutor.tutor_profile.hourly_rate = 5_000 - 100 * (index % 3)  # ties in price
        tutor.tutor_profile.save(update_fields=["hourly_rate"])
        weekday = MONDAY if index % 3 else TUESDAY  # a third is not free on Monday
        set_availability(tutor, windows=[(weekday, "08:00", "14:00")], timezone="UTC")
        tutors.append((tutor, weekday == MONDAY))
    if ordering == "newest":
        expected = [t.id for t, is_free in sorted(tutors, key=lambda p: -p[0].id) if is_free]
    else:
        rate = {t.id: t.tutor_profile.hourly_rate for t, _ in tutors}
        expected = [t.id for t, is_free in sorted(tutors, key=lambda p: (rate[p[0].id], p[0].id)) if is_free]
    params = free(at(day, "00:00"), at(day, "23:00"), ordering=ordering)

    settings.DIRECTORY_FREE_TIME_BATCH, settings.DIRECTORY_FREE_TIME_SCAN = 2, 3
    pages = walk(api_client, params, page_size=3)
    assert [row for page in pages for row in ids(page)] == expected
    assert any(len(page["results"]) < 3 for page in pages[:-1])  # the scan limit stopped a page

    # Without the limit biting, every page is full and `previous` leads back to the page before.
    settings.DIRECTORY_FREE_TIME_SCAN = 500
    pages = walk(api_client, params, page_size=2)
    assert [row for page in pages for row in ids(page)] == expected
    sizes = [len(page["results"]) for page in pages]
    # A page that fills up cannot know whether a later candidate is free: one empty page may end the walk.
    assert sizes[:3] == [2, 2, 2] and sizes[3:] in ([], [0])
    assert pages[0]["previous"] is None and pages[-1]["next"] is None
    for before, page in zip(pages[:3], pages[1:], strict=False):
        assert ids(api_client.get(page["previous"]).json()) == ids(before)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"free_from": "+1h"}, "free_to"),
        ({"free_to": "+2h"}, "free_from"),
        ({"free_from": "+2h", "free_to": "+2h"}, "free_to"),
        ({"free_from": "+2h", "free_to": "+1h"}, "free_to"),
        ({"free_from": "+1h", "free_to": f"+{8 * 24 + 2}h"}, "free_to"),
        ({"free_from": "-2m", "free_to": "+1h"}, "free_from"),
        ({"free_from": "tomorrow", "free_to": "+1h"}, "free_from"),
        ({"free_from": "+1h", "free_to": "9999-01-01T00:00:00Z"}, "free_to"),
        ({"free_from": "+1h", "free_to": "+3h", "duration": "50"}, "duration"),
        ({"free_from": "+1h", "free_to": "+3h", "duration": "x"}, "duration"),
        ({"duration": "60"}, "duration"),
    ],
)
def test_bad_ranges_are_400_naming_the_parameter(api_client, params, field):
    now = timezone.now()

    def value(text: str) -> str:
        if text[0] in "+-" and text[-1] in "hm":
            amount = timedelta(**{"hours" if text[-1] == "h" else "minutes": int(text[1:-1])})
            return iso(now + amount if text[0] == "+" else now - amount)
        return text

    response = api_client.get(TUTORS, {name: value(text) for name, text in params.items()})
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "validation_error" and list(body["fields"]) == [field]


def test_a_range_starting_seconds_ago_is_accepted(api_client):
    tutor = tutor_teaching()
    set_availability(tutor, windows=[(day, "00:00", "24:00") for day in range(7)], timezone="UTC")
    now = timezone.now()
    response = api_client.get(TUTORS, free(now - timedelta(seconds=30), now + timedelta(hours=3)))
    assert response.status_code == 200 and ids(response.json()) == [tutor.id]
    # Only future starts count, as on the slot list: a range that ends in a minute holds none.
    assert ids(api_client.get(TUTORS, free(now - timedelta(seconds=30), now + timedelta(seconds=40))).json()) == []


@pytest.mark.parametrize("count", [3, 12])
def test_a_page_costs_the_same_whatever_the_number_of_tutors(api_client, django_assert_num_queries, settings, count):
    settings.CACHALOT_ENABLED = False
    day = next_monday()
    for _ in range(count):
        monday_tutor()
    params = free(at(day, "08:00"), at(day, "12:00"), page_size=count)
    # candidates, their slots (one batch), the page, its subjects
    # candidates, their slots (one batch), the page, its subjects
    with django_assert_num_queries(4):
        assert len(ids(api_client.get(TUTORS, params).json())) == count
    # with batches of one tutor: two statements per batch
    settings.DIRECTORY_FREE_TIME_BATCH = 1
    with django_assert_num_queries(2 * 2 + 2):
        assert len(ids(api_client.get(TUTORS, {**params, "page_size": 2}).json())) == 2


@pytest.mark.redis
def test_free_time_requests_take_an_expensive_read_slot(api_client, settings):
    settings.EXPENSIVE_READS_PER_CLIENT = 1
    day = next_monday()
    monday_tutor()
    params = free(at(day, "08:00"), at(day, "12:00"))
    with expensive_read_slot("search", "127.0.0.1"):
        refused = api_client.get(TUTORS, params)
        assert api_client.get(TUTORS).status_code == 200  # the plain directory is not an expensive read
    assert refused.status_code == 429 and refused.json()["code"] == "throttled"
    assert api_client.get(TUTORS, params).status_code == 200


def test_the_demo_tutors_are_found_by_their_own_hours(api_client):
    """`make run`: the demo tutors teach weekdays 08:00-20:00 in their zones (London, Paris, Buenos
    Aires), so a weekday evening in Buenos Aires finds only the tutor there."""
    seed_accounts(scale=1, progress=no_progress)
    seed_availability(scale=1, progress=no_progress)
    zone = ZoneInfo("America/Argentina/Buenos_Aires")
    today = timezone.now().astimezone(zone).date()
    monday = today + timedelta(days=7 - today.weekday())
    evening = datetime.combine(monday, time(18, 0), tzinfo=zone).astimezone(UTC)
    found = api_client.get(TUTORS, free(evening, evening + timedelta(hours=1))).json()["results"]
    assert [row["id"] for row in found] == [TutorProfile.objects.get(timezone=zone.key).pk]
    morning = datetime.combine(monday, time(10, 0), tzinfo=ZoneInfo("Europe/Paris")).astimezone(UTC)  # 06:00 in BA
    assert len(ids(api_client.get(TUTORS, free(morning, morning + timedelta(hours=4))).json())) == len(DEMO_TUTORS)


@pytest.mark.parametrize("cursor", ["bm9wZQ==", "cD0xZTk5OTk5OTk5OTk5OTk5OTk5OTk5", "!!", "cD1OYU58Mw=="])
def test_a_forged_cursor_is_400_invalid_cursor(api_client, cursor):
    day = next_monday()
    monday_tutor()
    for ordering in ("newest", "rating"):
        params = free(at(day, "08:00"), at(day, "12:00"), ordering=ordering, cursor=cursor)
        response = api_client.get(TUTORS, params)
        assert response.status_code == 400 and response.json()["code"] == "invalid_cursor", response.content
