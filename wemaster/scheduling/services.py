"""Availability writes and the checks other apps make against it.

availability_replace    the tutor's whole set (windows + exceptions), atomically
availability_check      a booking's start and end lie inside the tutor's availability
tutor_slots_changed     cached slot lists of a tutor are stale once the transaction commits

Windows and exceptions come in as `slots.Window` and `slots.DatedException` (minutes after
local midnight), the shapes the slot computation reads.
"""

from datetime import datetime

from django.conf import settings
from django.db import transaction

from wemaster.accounts.models import TutorProfile
from wemaster.core.cache import invalidate_tags
from wemaster.core.errors import ValidationFailed
from wemaster.scheduling import slots
from wemaster.scheduling.errors import OnlyTutorsHaveAvailability, OutsideAvailability
from wemaster.scheduling.models import (
    MINUTES_PER_DAY,
    AvailabilityException,
    AvailabilityWindow,
    ExceptionKind,
    Weekday,
)
from wemaster.scheduling.selectors import availability_from, tutor_slots_tag
from wemaster.scheduling.slots import DatedException, Window, clock


def tutor_slots_changed(*, tutor_id: int) -> None:
    """Every cached slot list of the tutor is a miss once the current transaction commits (at
    once outside one); a rolled-back change invalidates nothing. Bookings, cancellations,
    availability and time-zone changes call it."""
    invalidate_tags(tutor_slots_tag(tutor_id))


def _check_minutes(field: str, index: int, start: int, end: int) -> str | None:
    step = settings.SLOT_STEP_MINUTES
    if not 0 <= start < end <= MINUTES_PER_DAY:
        return f"{field}[{index}]: the end must be after the start, within the day (00:00 to 24:00)."
    if start % step or end % step:
        return f"{field}[{index}]: times must be on the {step}-minute grid."
    return None


def _window_errors(windows: list[Window]) -> list[str]:
    errors = [
        error
        for index, window in enumerate(windows)
        if (error := _check_minutes("windows", index, window.start, window.end))
    ]
    if len(windows) > settings.AVAILABILITY_MAX_WINDOWS:
        errors.append(f"At most {settings.AVAILABILITY_MAX_WINDOWS} windows.")
    if errors:
        return errors
    ordered = sorted(windows, key=lambda w: (w.weekday, w.start))
    return [
        f"Windows overlap on {Weekday(later.weekday).label}: {clock(earlier.start)}-{clock(earlier.end)} and "
        f"{clock(later.start)}-{clock(later.end)}."
        for earlier, later in zip(ordered, ordered[1:], strict=False)
        if earlier.weekday == later.weekday and later.start < earlier.end
    ]


def _exception_errors(exceptions: list[DatedException]) -> list[str]:
    errors = []
    for index, exception in enumerate(exceptions):
        if exception.start is None and exception.end is None:
            if exception.kind == ExceptionKind.AVAILABLE:
                errors.append(f"exceptions[{index}]: an available exception needs a start and an end.")
        elif exception.start is None or exception.end is None:
            errors.append(f"exceptions[{index}]: give both a start and an end, or neither (the whole day off).")
        elif error := _check_minutes("exceptions", index, exception.start, exception.end):
            errors.append(error)
    if len(exceptions) > settings.AVAILABILITY_MAX_EXCEPTIONS:
        errors.append(f"At most {settings.AVAILABILITY_MAX_EXCEPTIONS} exceptions.")
    return errors


@transaction.atomic
def availability_replace(*, tutor, windows: list[Window], exceptions: list[DatedException]) -> None:
    """Replace the tutor's whole availability: weekly windows (on the SLOT_STEP_MINUTES grid, end
    after start, none overlapping another of its weekday) and dated exceptions. The tutor's
    profile row is locked first, as booking locks it, so a booking sees the old set or the new one,
    never a half-written one, and two replacements do not interleave. Cached slots are
    invalidated on commit.

    Raises OnlyTutorsHaveAvailability (403) for another role, ValidationFailed naming `windows`
    or `exceptions`.
    """
    if not tutor.is_tutor:
        raise OnlyTutorsHaveAvailability()
    fields = {}
    if window_errors := _window_errors(windows):
        fields["windows"] = window_errors
    if exception_errors := _exception_errors(exceptions):
        fields["exceptions"] = exception_errors
    if fields:
        raise ValidationFailed(fields=fields)
    TutorProfile.objects.select_for_update(no_key=True).filter(user=tutor).values_list("pk", flat=True).first()
    AvailabilityWindow.objects.filter(tutor=tutor).delete()
    AvailabilityException.objects.filter(tutor=tutor).delete()
    AvailabilityWindow.objects.bulk_create(
        AvailabilityWindow(tutor=tutor, weekday=w.weekday, start_minute=w.start, end_minute=w.end) for w in windows
    )
    AvailabilityException.objects.bulk_create(
        AvailabilityException(tutor=tutor, date=e.date, kind=e.kind, start_minute=e.start, end_minute=e.end)
        for e in exceptions
    )
    tutor_slots_changed(tutor_id=tutor.id)


def availability_check(*, profile: TutorProfile, starts_at: datetime, ends_at: datetime) -> None:
    """Raise OutsideAvailability unless [starts_at, ends_at) lies inside one stretch of the tutor's
    availability (a tutor without any is not bookable). Precondition: `profile` was read with
    `selectors.availability_annotations` over that range (booking reads it with its row lock)."""
    availability = availability_from(
        timezone=profile.timezone,
        windows=profile.availability_windows,
        exceptions=profile.availability_exceptions,
    )
    intervals = slots.available_intervals(availability, start=starts_at, end=ends_at)
    if not slots.covers(intervals, start=starts_at, end=ends_at):
        raise OutsideAvailability()
