from django.contrib import admin

from wemaster.core.admin_money import ReadOnlyAdminMixin
from wemaster.scheduling.models import AvailabilityException, AvailabilityWindow
from wemaster.scheduling.slots import clock


class _AvailabilityAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Tutors set their availability through the API (PUT /me/availability replaces it whole);
    staff look it up here when a booking is disputed."""

    search_fields = ["=tutor__id", "tutor__email"]
    list_select_related = ["tutor"]

    @admin.display(description="start", ordering="start_minute")
    def start(self, obj):
        return "" if obj.start_minute is None else clock(obj.start_minute)

    @admin.display(description="end", ordering="end_minute")
    def end(self, obj):
        return "" if obj.end_minute is None else clock(obj.end_minute)


@admin.register(AvailabilityWindow)
class AvailabilityWindowAdmin(_AvailabilityAdmin):
    list_display = ["tutor", "weekday", "start", "end"]
    list_filter = ["weekday"]
    ordering = ["tutor", "weekday", "start_minute"]


@admin.register(AvailabilityException)
class AvailabilityExceptionAdmin(_AvailabilityAdmin):
    list_display = ["tutor", "date", "kind", "start", "end"]
    list_filter = ["kind"]
    date_hierarchy = "date"
    ordering = ["tutor", "-date"]
