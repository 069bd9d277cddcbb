import re
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field

from wemaster.core import serializers
from wemaster.core.errors import ValidationFailed
from wemaster.lessons.services import check_duration
from wemaster.scheduling.models import MINUTES_PER_DAY, ExceptionKind
from wemaster.scheduling.slots import clock

# Bounds on `from` and `to`, far from the limits of Python's datetime (ranges are added to them).
EARLIEST, LATEST = datetime(2000, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC)
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
CLOCK = re.compile(r"^(?P<hours>\d{2}):(?P<minutes>\d{2})$")


@extend_schema_field({"type": "string", "pattern": r"^\d{2}:\d{2}$", "example": "09:30"})
class LocalTimeField(serializers.Field):
    """A local time "HH:MM" from 00:00 to 24:00 (the end of the day), held as minutes after midnight."""

    default_error_messages = {"invalid": "A local time as HH:MM, from 00:00 to 24:00."}

    def to_internal_value(self, data):
        match = CLOCK.match(data) if isinstance(data, str) else None
        if match is None:
            self.fail("invalid")
        hours, minutes = int(match["hours"]), int(match["minutes"])
        total = hours * 60 + minutes
        if minutes >= 60 or total > MINUTES_PER_DAY:
            self.fail("invalid")
        return total

    def to_representation(self, value):
        return clock(value)


class WeekdayField(serializers.ChoiceField):
    """A weekday by name ("monday" .. "sunday"), held as 0 (Monday) .. 6."""

    def __init__(self, **kwargs):
        super().__init__(choices=WEEKDAYS, **kwargs)

    def to_internal_value(self, data):
        return WEEKDAYS.index(super().to_internal_value(data))

    def to_representation(self, value):
        return WEEKDAYS[value]


class AvailabilityWindowSerializer(serializers.Serializer):
    weekday = WeekdayField()
    start = LocalTimeField(source="start_minute")
    end = LocalTimeField(source="end_minute")


class AvailabilityExceptionSerializer(serializers.Serializer):
    date = serializers.DateField()
    kind = serializers.ChoiceField(choices=ExceptionKind.values)
    start = LocalTimeField(source="start_minute", required=False, allow_null=True, default=None)
    end = LocalTimeField(source="end_minute", required=False, allow_null=True, default=None)


class AvailabilitySerializer(serializers.Serializer):
    """The whole set, as PUT takes it and GET returns it (GET adds the tutor's `timezone`)."""

    timezone = serializers.CharField(read_only=True, help_text="The tutor profile's zone; change it with PATCH /me.")
    windows = AvailabilityWindowSerializer(many=True, allow_empty=True)
    exceptions = AvailabilityExceptionSerializer(many=True, allow_empty=True)


class SlotTimeField(serializers.DateTimeField):
    """An end of a slot range: a time with offset, years EARLIEST to LATEST (exclusive)."""

    def to_internal_value(self, value):
        moment = super().to_internal_value(value)
        if not EARLIEST <= moment < LATEST:
            raise serializers.ValidationError(f"A time from {EARLIEST.year} to {LATEST.year - 1}.")
        return moment


class LessonDurationField(serializers.IntegerField):
    """Lesson minutes, a length booking accepts; 60 unless given."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("default", 60)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        try:
            check_duration(value, field=self.field_name)
        except ValidationFailed as exc:
            raise serializers.ValidationError(exc.fields[self.field_name]) from exc
        return value


def check_slot_range(start: datetime, end: datetime, *, max_days: int, names: tuple[str, str] = ("from", "to")) -> None:
    """`end` after `start` and at most `max_days` after it. Raises ValidationError naming the
    end's parameter (`names`: the query names of start and end)."""
    start_name, end_name = names
    if end <= start:
        raise serializers.ValidationError({end_name: [f"Must be after `{start_name}`."]})
    if end - start > timedelta(days=max_days):
        raise serializers.ValidationError({end_name: [f"At most {max_days} days after `{start_name}`."]})


class SlotsQuerySerializer(serializers.Serializer):
    """`from` (default: now), `to` (default: SLOTS_DEFAULT_RANGE_DAYS after `from`; at most
    SLOTS_MAX_RANGE_DAYS after it), `duration` (minutes, default 60, a length booking accepts)."""

    # `from` is a Python keyword: the two query names are declared through the class namespace.
    vars()["from"] = SlotTimeField(required=False)
    vars()["to"] = SlotTimeField(required=False)
    duration = LessonDurationField()

    def validate(self, attrs):
        start = attrs.get("from") or timezone.now()
        end = attrs.get("to") or start + timedelta(days=settings.SLOTS_DEFAULT_RANGE_DAYS)
        check_slot_range(start, end, max_days=settings.SLOTS_MAX_RANGE_DAYS)
        return {"start": start, "end": end, "duration": attrs["duration"]}


class SlotsSerializer(serializers.Serializer):
    tutor = serializers.IntegerField()
    timezone = serializers.CharField(help_text="The tutor's zone, to show the times as the tutor sees them.")
    duration_minutes = serializers.IntegerField()
    vars()["from"] = serializers.DateTimeField()
    vars()["to"] = serializers.DateTimeField()
    slots = serializers.ListField(child=serializers.DateTimeField(), help_text="Bookable start times, UTC, ascending.")
