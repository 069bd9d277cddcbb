from django.contrib import admin

from wemaster.core.admin_money import ReadOnlyAdminMixin
from wemaster.notifications.models import EmailOptOut, Notification


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """What users were told and whether they read it or were mailed it; only causes create them."""

    list_display = ["id", "recipient", "kind", "cause_key", "created_at", "read_at", "emailed_at"]
    list_filter = ["kind"]
    list_select_related = ["recipient"]
    search_fields = ["recipient__email", "cause_key"]
    raw_id_fields = ["recipient"]
    ordering = ["-id"]
    show_full_result_count = False


@admin.register(EmailOptOut)
class EmailOptOutAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "user", "kind", "created_at"]
    list_filter = ["kind"]
    list_select_related = ["user"]
    search_fields = ["user__email"]
    ordering = ["-id"]
