"""Availability as real instants, and the bookable start times inside it. Pure functions: the
rows come in (selectors.py reads them in one query), UTC instants go out.

Local times become instants in the tutor's zone (zoneinfo), one local date at a time, so a
window keeps its wall-clock hours across a DST change:
- a boundary in the spring-forward gap (e.g. 02:30 on the last Sunday of March in Berlin, a time
  that never happens) moves to the end of the gap, the first real instant after it;
- a boundary in the repeated fall-back hour widens its interval: a start is the first of the two
  instants, an end the second.
Slot starts step by SLOT_STEP_MINUTES from the start of each available interval (windows lie on
that grid), so the nonexistent hour yields no slot and the repeated hour yields two distinct ones.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from wemaster.scheduling.models import MINUTES_PER_DAY, ExceptionKind

Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class Window:
    weekday: int
    start: int
    end: int


@dataclass(frozen=True)
class DatedException:
    date: date
    kind: str
    start: int | None = None
    end: int | None = None


@dataclass(frozen=True)
class Availability:
    timezone: str
    windows: tuple[Window, ...]
    exceptions: tuple[DatedException, ...]


def clock(minute: int) -> str:
    """Minutes after midnight as the API writes them: "09:30", "24:00"."""
    return f"{minute // 60:02d}:{minute % 60:02d}"


def local_instant(day: date, minute: int, zone: ZoneInfo, *, latest: bool) -> datetime:
    """The UTC instant of `minute` after local midnight of `day` (1440: the next midnight).
    A repeated time gives its first instant, or its second with `latest`; a nonexistent one the
    end of its gap."""
    if minute == MINUTES_PER_DAY:
        day, minute = day + timedelta(days=1), 0
    wall = datetime.combine(day, time(minute // 60, minute % 60))
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if first <= second:  # an ordinary time (equal) or a repeated one
        return second if latest else first
    return _gap_end(zone, before=second, after=first)


def _gap_end(zone: ZoneInfo, *, before: datetime, after: datetime) -> datetime:
    """The transition instant, to the minute: `before` still has the old offset, `after` the new.
    (PEP 495 maps a nonexistent time to these two instants, one on each side of the transition.)"""
    old_offset = before.astimezone(zone).utcoffset()
    low, high = 0, int((after - before) / timedelta(minutes=1))
    while high - low > 1:
        middle = (low + high) // 2
        if (before + timedelta(minutes=middle)).astimezone(zone).utcoffset() == old_offset:
            low = middle
        else:
            high = middle
    return before + timedelta(minutes=high)


def _merged(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, with overlapping and touching intervals joined."""
    merged: list[list[datetime]] = []
    for start, end in sorted(intervals):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def _subtract(intervals: list[Interval], removals: list[Interval]) -> list[Interval]:
    result = []
    for start, end in intervals:
        pieces = [(start, end)]
        for cut_start, cut_end in removals:
            pieces = [
                piece
                for piece_start, piece_end in pieces
                for piece in ((piece_start, min(piece_end, cut_start)), (max(piece_start, cut_end), piece_end))
                if piece[0] < piece[1]
            ]
        result.extend(pieces)
    return result


def available_intervals(availability: Availability, *, start: datetime, end: datetime) -> list[Interval]:
    """The tutor's available time as disjoint UTC intervals, every one that meets [start, end),
    unclipped (slot starts are counted from an interval's start). On each local date: the weekly
    windows (none on a whole day off) plus the `available` exceptions, minus the hours-off
    exceptions."""
    zone = ZoneInfo(availability.timezone)
    by_date: dict[date, list[DatedException]] = {}
    for exception in availability.exceptions:
        by_date.setdefault(exception.date, []).append(exception)
    day, last_day = start.astimezone(zone).date() - timedelta(days=1), end.astimezone(zone).date()
    intervals: list[Interval] = []
    removals: list[Interval] = []
    while day <= last_day:
        exceptions = by_date.get(day, ())
        day_off = any(e.kind == ExceptionKind.UNAVAILABLE and e.start is None for e in exceptions)
        pieces = [] if day_off else [(w.start, w.end) for w in availability.windows if w.weekday == day.weekday()]
        pieces += [(e.start, e.end) for e in exceptions if e.kind == ExceptionKind.AVAILABLE]
        intervals += [_instants(day, piece, zone) for piece in pieces]
        removals += [
            _instants(day, (e.start, e.end), zone)
            for e in exceptions
            if e.kind == ExceptionKind.UNAVAILABLE and e.start is not None
        ]
        day += timedelta(days=1)
    free = _merged(_subtract(_merged(intervals), removals))
    return [(a, b) for a, b in free if a < end and b > start]


def _instants(day: date, minutes: tuple[int, int], zone: ZoneInfo) -> Interval:
    return local_instant(day, minutes[0], zone, latest=False), local_instant(day, minutes[1], zone, latest=True)


def covers(intervals: list[Interval], *, start: datetime, end: datetime) -> bool:
    """Whether [start, end) lies inside one available interval."""
    return any(a <= start and end <= b for a, b in intervals)


def bookable_starts(
    intervals: list[Interval],
    busy: Iterable[Interval],
    *,
    start: datetime,
    end: datetime,
    duration: timedelta,
    step: timedelta,
    buffer: timedelta,
) -> list[datetime]:
    """Slot starts in [start, end), a step apart from each interval's start, whose whole lesson
    fits in the interval and keeps `buffer` away from every busy interval (booked lessons)."""
    padded = _merged((busy_start - buffer, busy_end + buffer) for busy_start, busy_end in busy)
    slots = []
    next_busy = 0
    for interval_start, interval_end in intervals:
        candidate = interval_start
        if candidate < start:
            candidate += -((interval_start - start) // step) * step  # the first grid point >= start
        while candidate < end and candidate + duration <= interval_end:
            while next_busy < len(padded) and padded[next_busy][1] <= candidate:
                next_busy += 1
            if next_busy == len(padded) or padded[next_busy][0] >= candidate + duration:
                slots.append(candidate)
            candidate += step
    return slots
