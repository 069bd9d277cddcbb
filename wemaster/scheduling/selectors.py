"""Reads of availability: the tutor's own set (GET /me/availability), the availability rows a
booking checks (annotations on the query that locks the tutor's profile), and bookable slots
(one query per computation, cached per tutor until a booking, cancellation or availability
change bumps the tutor's tag)."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import JSONObject

from wemaster.accounts.models import TutorProfile
from wemaster.core.cache import get_or_compute
from wemaster.core.cache.keys import params_key
from wemaster.core.errors import NotFound
from wemaster.core.expressions import JSONRows
from wemaster.lessons.models import OCCUPYING, Lesson
from wemaster.scheduling import slots
from wemaster.scheduling.models import AvailabilityException, AvailabilityWindow, ExceptionKind

FAMILY = "tutor_slots"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def tutor_slots_tag(tutor_id: int) -> str:
    return f"tutor_slots:{tutor_id}"


def availability_of(*, tutor) -> tuple[list[AvailabilityWindow], list[AvailabilityException]]:
    """The tutor's windows (by weekday and start) and exceptions (by date and start)."""
    windows = list(AvailabilityWindow.objects.filter(tutor=tutor).order_by("weekday", "start_minute"))
    exceptions = list(AvailabilityException.objects.filter(tutor=tutor).order_by("date", "start_minute", "id"))
    return windows, exceptions


def availability_annotations(*, start: datetime, end: datetime) -> dict:
    """Annotations for a TutorProfile query: the tutor's windows and the exceptions dated near
    [start, end) (a local date is at most a day off the UTC one), as JSON arrays, so availability
    costs no query of its own. `availability_from` reads them back. (Two days of margin: the
    computation also reads the local date before the first.)"""
    windows = AvailabilityWindow.objects.filter(tutor_id=OuterRef("user_id")).values(
        json=JSONObject(weekday="weekday", start="start_minute", end="end_minute")
    )
    exceptions = AvailabilityException.objects.filter(
        tutor_id=OuterRef("user_id"),
        date__gte=start.astimezone(UTC).date() - timedelta(days=2),
        date__lte=end.astimezone(UTC).date() + timedelta(days=2),
    ).values(json=JSONObject(date="date", kind="kind", start="start_minute", end="end_minute"))
    return {"availability_windows": JSONRows(windows), "availability_exceptions": JSONRows(exceptions)}


def availability_from(*, timezone: str, windows: list[dict], exceptions: list[dict]) -> slots.Availability:
    return slots.Availability(
        timezone=timezone,
        windows=tuple(slots.Window(**window) for window in windows),
        exceptions=tuple(
            slots.DatedException(
                date=datetime.fromisoformat(e["date"]).date(), kind=e["kind"], start=e["start"], end=e["end"]
            )
            for e in exceptions
        ),
    )


def _instant(text: str) -> datetime:
    """A timestamp out of a JSON row: with its offset on PostgreSQL, naive UTC on SQLite."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Slots:
    timezone: str
    starts: list[datetime]


def _buffer() -> timedelta:
    return timedelta(minutes=settings.LESSON_BUFFER_MINUTES)


def slots_compute(*, tutor_id: int, start: datetime, end: datetime, duration_minutes: int) -> dict | None:
    """Bookable starts in [start, end) for a lesson of `duration_minutes`, as epoch seconds, with
    the tutor's zone; None when the id is not a bookable tutor (`slots_compute_many` for one)."""
    return slots_compute_many(tutor_ids=[tutor_id], start=start, end=end, duration_minutes=duration_minutes).get(
        tutor_id
    )


def slots_compute_many(
    *, tutor_ids: list[int], start: datetime, end: datetime, duration_minutes: int
) -> dict[int, dict]:
    """`{tutor id: {"timezone", "starts"}}` for each id that is a bookable tutor: the bookable starts
    in [start, end) for a lesson of `duration_minutes`, as epoch seconds. One query whatever the
    number of ids: each profile with its availability and the booked lessons that could touch the
    range, as JSON arrays of its row."""
    duration = timedelta(minutes=duration_minutes)
    reach = end + duration
    booked = Lesson.objects.filter(
        tutor_id=OuterRef("user_id"),
        status__in=OCCUPYING,
        starts_at__lt=reach + _buffer(),
        ends_at__gt=start - _buffer(),
    ).values(json=JSONObject(start="starts_at", end="ends_at"))
    rows = (
        TutorProfile.objects.bookable()
        .filter(user_id__in=tutor_ids)
        .annotate(**availability_annotations(start=start, end=reach), booked=JSONRows(booked))
        .values("user_id", "timezone", "availability_windows", "availability_exceptions", "booked")
    )
    found = {}
    for row in rows:
        availability = availability_from(
            timezone=row["timezone"], windows=row["availability_windows"], exceptions=row["availability_exceptions"]
        )
        busy = [(_instant(lesson["start"]), _instant(lesson["end"])) for lesson in row["booked"]]
        starts = slots.bookable_starts(
            slots.available_intervals(availability, start=start, end=reach),
            busy,
            start=start,
            end=end,
            duration=duration,
            step=timedelta(minutes=settings.SLOT_STEP_MINUTES),
            buffer=_buffer(),
        )
        found[row["user_id"]] = {"timezone": row["timezone"], "starts": [int(moment.timestamp()) for moment in starts]}
    return found


def free_tutor_ids(
    *, tutor_ids: list[int], start: datetime, end: datetime, duration_minutes: int, now: datetime
) -> set[int]:
    """Those of `tutor_ids` with at least one bookable start in [start, end) after `now` for a
    lesson of `duration_minutes` (one query)."""
    found = slots_compute_many(tutor_ids=tutor_ids, start=start, end=end, duration_minutes=duration_minutes)
    current = now.timestamp()
    return {tutor_id for tutor_id, value in found.items() if any(epoch > current for epoch in value["starts"])}


def may_be_free(*, start: datetime, end: datetime) -> Q:
    """A filter on TutorProfile, cheap in SQL: tutors with a weekly window or an `available`
    exception dated near [start, end). Those left out have no slot there; those kept may have none
    (`free_tutor_ids` decides)."""
    windows = AvailabilityWindow.objects.filter(tutor_id=OuterRef("user_id"))
    extra = AvailabilityException.objects.filter(
        tutor_id=OuterRef("user_id"),
        kind=ExceptionKind.AVAILABLE,
        date__gte=start.astimezone(UTC).date() - timedelta(days=2),
        date__lte=end.astimezone(UTC).date() + timedelta(days=2),
    )
    return Q(Exists(windows)) | Q(Exists(extra))


def _on_grid(moment: datetime, *, up: bool) -> datetime:
    """`moment` moved down (or up) to a whole SLOT_STEP_MINUTES in UTC."""
    step = timedelta(minutes=settings.SLOT_STEP_MINUTES)
    since_epoch = moment.astimezone(UTC) - EPOCH
    steps = -(-since_epoch // step) if up else since_epoch // step
    return EPOCH + steps * step


def tutor_slots(*, tutor_id: int, start: datetime, end: datetime, duration_minutes: int, now: datetime) -> Slots:
    """The bookable starts of a listed tutor in [start, end) that are still in the future.
    The list is cached per tutor and range, the range widened to the slot grid so that requests
    a few seconds apart (`from` defaults to now) share an entry; what is past or outside the range
    is dropped after the cache, so an entry never goes stale by the clock alone.
    Raises NotFound for an id that is not a bookable tutor."""
    wide_start, wide_end = _on_grid(start, up=False), _on_grid(end, up=True)
    key = params_key(f"{FAMILY}:{tutor_id}", start=wide_start, end=wide_end, duration=duration_minutes)
    value = get_or_compute(
        key,
        lambda: slots_compute(tutor_id=tutor_id, start=wide_start, end=wide_end, duration_minutes=duration_minutes),
        tags=[tutor_slots_tag(tutor_id)],
        ttl=settings.SLOTS_CACHE_TTL_SECONDS,
        family=FAMILY,
        distinct_keys=settings.CACHE_PARAM_KEYS_PER_FAMILY,  # ranges are request input
        store_if=lambda computed: computed is not None,
    )
    if value is None:
        raise NotFound("Tutor not found.")
    lowest, highest, current = start.timestamp(), end.timestamp(), now.timestamp()
    return Slots(
        timezone=value["timezone"],
        starts=[
            datetime.fromtimestamp(epoch, tz=UTC)
            for epoch in value["starts"]
            if lowest <= epoch < highest and epoch > current
        ],
    )
