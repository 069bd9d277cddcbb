"""Slots across Europe/Berlin's DST changes of 2027: 28 March (02:00 -> 03:00, the hour does not
exist) and 31 October (03:00 -> 02:00, the hour happens twice). Both are Sundays (weekday 6)."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.lessons.factories import tutor_teaching
from tests.scheduling.factories import BERLIN, set_availability
from wemaster.scheduling import selectors
from wemaster.scheduling.slots import local_instant

SUNDAY = 6
BEFORE_2027 = datetime(2026, 12, 1, tzinfo=UTC)  # "now" for the slot lists: both dates ahead


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def sunday_slots(tutor, *, day_start: str, day_end: str, duration: int = 30) -> list[datetime]:
    return selectors.tutor_slots(
        tutor_id=tutor.id, start=utc(day_start), end=utc(day_end), duration_minutes=duration, now=BEFORE_2027
    ).starts


@pytest.fixture
def night_tutor(db):
    """Available every Sunday 00:00-06:00 Berlin time: across both changes."""
    tutor = tutor_teaching()
    set_availability(tutor, windows=[(SUNDAY, "00:00", "06:00")])
    return tutor


def test_spring_forward_skips_the_hour_that_does_not_exist(night_tutor):
    starts = sunday_slots(night_tutor, day_start="2027-03-27T20:00", day_end="2027-03-28T08:00")
    local = [start.astimezone(ZoneInfo(BERLIN)).strftime("%H:%M%z") for start in starts]
    assert local == [
        "00:00+0100", "00:30+0100", "01:00+0100", "01:30+0100",
        "03:00+0200", "03:30+0200", "04:00+0200", "04:30+0200", "05:00+0200", "05:30+0200",
    ]  # fmt: skip
    # 00:00 CET to 06:00 CEST is five real hours: ten half-hour slots, each a distinct instant.
    assert starts[0] == utc("2027-03-27T23:00") and starts[-1] == utc("2027-03-28T03:30")
    assert len(set(starts)) == len(starts) == 10


def test_fall_back_offers_both_real_instants_of_the_repeated_hour(night_tutor):
    starts = sunday_slots(night_tutor, day_start="2027-10-30T20:00", day_end="2027-10-31T08:00")
    local = [start.astimezone(ZoneInfo(BERLIN)).strftime("%H:%M%z") for start in starts]
    assert local == [
        "00:00+0200", "00:30+0200", "01:00+0200", "01:30+0200",
        "02:00+0200", "02:30+0200", "02:00+0100", "02:30+0100",
        "03:00+0100", "03:30+0100", "04:00+0100", "04:30+0100", "05:00+0100", "05:30+0100",
    ]  # fmt: skip
    # 00:00 CEST to 06:00 CET is seven real hours: fourteen slots, none twice, none missing.
    assert starts == [utc("2027-10-30T22:00") + i * timedelta(minutes=30) for i in range(14)]


def test_a_lesson_across_the_gap_lasts_its_real_length(night_tutor):
    """A 90-minute lesson from 01:00 CET ends at 03:30 CEST: the slot list counts real time."""
    starts = sunday_slots(night_tutor, day_start="2027-03-27T20:00", day_end="2027-03-28T08:00", duration=90)
    assert utc("2027-03-28T00:00") in starts  # 01:00 CET (00:00Z) to 03:30 CEST (01:30Z)
    assert starts[-1] == utc("2027-03-28T02:30")  # 04:30 CEST + 90 min = 06:00 CEST, the window's end


def test_window_boundaries_inside_the_gap_move_to_its_end_and_repeated_ones_widen():
    zone = ZoneInfo(BERLIN)
    spring, fall = date(2027, 3, 28), date(2027, 10, 31)
    assert local_instant(spring, 2 * 60 + 30, zone, latest=False) == utc("2027-03-28T01:00")  # 03:00 CEST
    assert local_instant(spring, 2 * 60 + 30, zone, latest=True) == utc("2027-03-28T01:00")
    assert local_instant(spring, 2 * 60, zone, latest=False) == utc("2027-03-28T01:00")
    assert local_instant(fall, 2 * 60 + 30, zone, latest=False) == utc("2027-10-31T00:30")  # 02:30 CEST
    assert local_instant(fall, 2 * 60 + 30, zone, latest=True) == utc("2027-10-31T01:30")  # 02:30 CET
    assert local_instant(fall, 24 * 60, zone, latest=True) == utc("2027-10-31T23:00")  # midnight, CET


def test_a_window_starting_in_the_gap_starts_when_the_clock_reaches_three(db):
    tutor = tutor_teaching()
    set_availability(tutor, windows=[(SUNDAY, "02:30", "04:00")])
    starts = sunday_slots(tutor, day_start="2027-03-27T20:00", day_end="2027-03-28T08:00")
    assert starts == [utc("2027-03-28T01:00"), utc("2027-03-28T01:30")]  # 03:00 and 03:30 CEST
