"""A tutor's availability: weekly windows and dated exceptions, in the tutor's own time zone
(`TutorProfile.timezone`). Times are minutes after local midnight, 0 to 1440 (24:00), so a
window can run to the end of the day; a window never crosses midnight (two windows do, and
the slot computation joins touching ones)."""

from django.conf import settings
from django.db import models
from django.db.models import Q

MINUTES_PER_DAY = 24 * 60


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class ExceptionKind(models.TextChoices):
    UNAVAILABLE = "unavailable", "Unavailable (a day off, or hours off)"
    AVAILABLE = "available", "Available (an extra window)"


class AvailabilityWindow(models.Model):
    """Every `weekday` from `start_minute` to `end_minute`, local time of the tutor."""

    tutor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="availability_windows")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_minute = models.PositiveSmallIntegerField(help_text="Minutes after local midnight.")
    end_minute = models.PositiveSmallIntegerField(help_text="Minutes after local midnight; 1440 = 24:00.")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(weekday__lte=6), name="scheduling_window_weekday"),
            models.CheckConstraint(
                condition=Q(start_minute__lt=models.F("end_minute"), end_minute__lte=MINUTES_PER_DAY),
                name="scheduling_window_bounds",
            ),
        ]
        indexes = [models.Index(fields=["tutor", "weekday", "start_minute"], name="scheduling_window_tutor")]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.start_minute}-{self.end_minute} of tutor {self.tutor_id}"


class AvailabilityException(models.Model):
    """A dated change to the weekly windows: `unavailable` without times is the whole day off;
    with times, those hours off; `available` (times required) is an extra window that day."""

    tutor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="availability_exceptions"
    )
    date = models.DateField(help_text="The tutor's local date.")
    kind = models.CharField(max_length=16, choices=ExceptionKind.choices)
    start_minute = models.PositiveSmallIntegerField(null=True, blank=True)
    end_minute = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(start_minute__isnull=True, end_minute__isnull=True, kind=ExceptionKind.UNAVAILABLE)
                | Q(start_minute__lt=models.F("end_minute"), end_minute__lte=MINUTES_PER_DAY),
                name="scheduling_exception_bounds",
            ),
        ]
        indexes = [models.Index(fields=["tutor", "date"], name="scheduling_exception_tutor")]

    def __str__(self):
        return f"{self.kind} on {self.date} for tutor {self.tutor_id}"
