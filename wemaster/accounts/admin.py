from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from wemaster.accounts import sessions
from wemaster.accounts.models import DeviceToken, Subject, TutorProfile, User
from wemaster.core.admin_money import ReadOnlyAdminMixin


class TutorProfileInline(admin.StackedInline):
    model = TutorProfile
    can_delete = False
    filter_horizontal = ["subjects"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["-id"]
    list_display = ["id", "email", "display_name", "role", "is_staff", "is_active", "date_joined"]
    list_filter = ["role", "is_staff", "is_active"]
    search_fields = ["email", "display_name"]
    readonly_fields = ["date_joined", "last_login"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["display_name", "role", "bio"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "display_name", "role", "password1", "password2"]})
    ]

    def get_inlines(self, request, obj):
        return [TutorProfileInline] if obj is not None and obj.is_tutor else []


@admin.register(Subject)
class SubjectAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(DeviceToken)
class DeviceTokenAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Who is signed in on which device. Only the token's first characters are shown (the
    token itself is nowhere to be seen); revoking goes through the service, so the device's
    sockets close too."""

    list_display = ["id", "user", "name", "token_key", "created", "last_used", "expiry"]
    list_select_related = ["user"]
    search_fields = ["user__email", "name", "token_key"]
    fields = ["user", "name", "token_key", "created", "last_used", "expiry"]
    ordering = ["-id"]
    actions = ["revoke"]

    def has_change_permission(self, request, obj=None):
        # The action needs the change permission; the form itself shows every field read-only.
        return request.user.has_perm("accounts.change_devicetoken")

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    @admin.action(description="Revoke the selected tokens (their devices are signed out)")
    def revoke(self, request, queryset):
        tokens = list(queryset.values_list("id", "user_id"))
        for token_id, user_id in tokens:
            sessions.token_revoke(user=User(pk=user_id), token_id=token_id)
        self.message_user(request, f"{len(tokens)} token(s) revoked.")
