from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from wemaster.accounts.models import Subject, TutorProfile, User


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
