"""Core records in the staff admin: reconcile runs (read-only) and Django's permission groups."""

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.models import Group

from wemaster.core.admin_base import StaffAdmin
from wemaster.core.models import ReconcileRun


@admin.register(ReconcileRun)
class ReconcileRunAdmin(StaffAdmin):
    """Each `manage.py reconcile` run; the operations page shows the last one."""

    list_display = ["id", "ran_at", "discrepancies"]
    ordering = ["-ran_at"]
    date_hierarchy = "ran_at"

    @admin.display(description="discrepancies")
    def discrepancies(self, run):
        return len(run.problems)


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(StaffAdmin, DjangoGroupAdmin):
    """Staff permission groups: Django's own records (no cache, event or money depends on them),
    the one admin edited as plain rows."""

    editable_fields = ("name", "permissions")

    def has_add_permission(self, request):
        return request.user.has_perm("auth.add_group")

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("auth.change_group")

    def has_delete_permission(self, request, obj=None):
        return request.user.has_perm("auth.delete_group")
