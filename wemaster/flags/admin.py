"""Flags, switches and samples in the staff admin: the one place a rollout is edited by hand, so
their forms are editable, but every save and delete goes through `services` (and waffle's own
admin pages, which would write rows directly, are off: WAFFLE_ENABLE_ADMIN_PAGES)."""

from django.contrib import admin
from waffle import get_waffle_sample_model, get_waffle_switch_model
from waffle.admin import FlagAdmin as WaffleFlagAdmin
from waffle.admin import SampleAdmin as WaffleSampleAdmin
from waffle.admin import SwitchAdmin as WaffleSwitchAdmin

from wemaster.core.admin_base import ReadOnlyAdminMixin
from wemaster.flags import services
from wemaster.flags.models import Flag


class RolloutAdmin(ReadOnlyAdminMixin):
    """Editable through `services.rollout_save` / `rollout_delete`, with the model's own permissions."""

    def _may(self, request, action: str) -> bool:
        opts = self.model._meta
        return request.user.has_perm(f"{opts.app_label}.{action}_{opts.model_name}")

    def has_add_permission(self, request, obj=None):
        return self._may(request, "add")

    def has_change_permission(self, request, obj=None):
        return self._may(request, "change")

    def has_delete_permission(self, request, obj=None):
        return self._may(request, "delete")

    def save_model(self, request, obj, form, change):
        services.rollout_save(obj)

    def delete_model(self, request, obj):
        services.rollout_delete(obj)

    def delete_queryset(self, request, queryset):
        for record in queryset:
            services.rollout_delete(record)


def _set_all(queryset, *, field: str, value) -> int:
    for record in queryset:
        setattr(record, field, value)
        services.rollout_save(record)
    return len(queryset)


@admin.register(Flag)
class FlagAdmin(RolloutAdmin, WaffleFlagAdmin):
    editable_fields = (
        "name", "everyone", "percent", "testing", "superusers", "staff", "authenticated",
        "languages", "groups", "users", "rollout", "note",
    )  # fmt: skip
    actions = ["enable_for_everyone", "disable_for_everyone"]

    @admin.action(description="On for everyone (overrides the percentage)", permissions=["change"])
    def enable_for_everyone(self, request, queryset):
        self.message_user(request, f"{_set_all(queryset, field='everyone', value=True)} flag(s) on for everyone.")

    @admin.action(description="Back to the percentage and overrides (Everyone: unknown)", permissions=["change"])
    def disable_for_everyone(self, request, queryset):
        count = _set_all(queryset, field="everyone", value=None)
        self.message_user(request, f"{count} flag(s) follow their percentage again.")


@admin.register(get_waffle_switch_model())
class SwitchAdmin(RolloutAdmin, WaffleSwitchAdmin):
    editable_fields = ("name", "active", "note")
    actions = ["switch_on", "switch_off"]

    @admin.action(description="Switch on", permissions=["change"])
    def switch_on(self, request, queryset):
        self.message_user(request, f"{_set_all(queryset, field='active', value=True)} switch(es) on.")

    @admin.action(description="Switch off", permissions=["change"])
    def switch_off(self, request, queryset):
        self.message_user(request, f"{_set_all(queryset, field='active', value=False)} switch(es) off.")


@admin.register(get_waffle_sample_model())
class SampleAdmin(RolloutAdmin, WaffleSampleAdmin):
    editable_fields = ("name", "percent", "note")
    actions = []
