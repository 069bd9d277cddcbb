from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError

from wemaster.accounts import services, sessions
from wemaster.accounts.models import DeviceToken, Subject, TutorProfile, User
from wemaster.accounts.validators import normalize_language_code, normalize_subject_name, time_zone_names
from wemaster.core.admin_money import ReadOnlyAdminMixin
from wemaster.core.money import format_minor, parse_major


class TutorProfileForm(forms.ModelForm):
    """The profile as tutors edit it in the API: the rate in currency units, languages as codes."""

    hourly_rate = forms.DecimalField(
        min_value=Decimal(0),
        max_value=Decimal(format_minor(settings.MAX_HOURLY_RATE_MINOR)),
        decimal_places=2,
        help_text=f"Per hour in {settings.CURRENCY}, e.g. 40.00; 0 = not set (the tutor is not listed).",
    )
    timezone = forms.ChoiceField(choices=[])
    languages = forms.CharField(
        required=False, help_text="ISO 639-1 codes the tutor teaches in, comma-separated, e.g. en, de."
    )

    class Meta:
        model = TutorProfile
        fields = ["hourly_rate", "subjects", "headline", "timezone"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices = [(name, name) for name in sorted(time_zone_names())]
        if self.instance.pk is not None:
            self.initial["hourly_rate"] = format_minor(self.instance.hourly_rate)
            self.initial["languages"] = ", ".join(language.code for language in self.instance.languages.all())

    def clean_hourly_rate(self) -> int:
        minor = parse_major(f"{self.cleaned_data['hourly_rate']:.2f}")
        if 0 < minor < settings.MIN_HOURLY_RATE_MINOR:
            raise ValidationError(f"At least {format_minor(settings.MIN_HOURLY_RATE_MINOR)}, or 0 for not set.")
        return minor

    def clean_languages(self) -> list[str]:
        codes = [code for code in self.cleaned_data["languages"].replace(" ", "").split(",") if code]
        if len(codes) > settings.TUTOR_MAX_LANGUAGES:
            raise ValidationError(f"At most {settings.TUTOR_MAX_LANGUAGES} languages.")
        return [normalize_language_code(code) for code in codes]

    def changes(self) -> services.TutorProfileChanges:
        data = self.cleaned_data
        return services.TutorProfileChanges(
            hourly_rate=data["hourly_rate"],
            subjects=[subject.name for subject in data["subjects"]],
            headline=data["headline"],
            timezone=data["timezone"],
            languages=data["languages"],
        )


class TutorProfileInline(admin.StackedInline):
    model = TutorProfile
    form = TutorProfileForm
    can_delete = False
    max_num = 1
    filter_horizontal = ["subjects"]
    readonly_fields = ["rating", "review_count"]


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

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.staff_user_saved(user=obj, changed=form.changed_data)

    def save_formset(self, request, form, formset, change):
        """The tutor profile is written by the service the API uses (catalog subjects, the
        directory's cache); every other inline saves as usual."""
        if formset.model is not TutorProfile:
            return super().save_formset(request, form, formset, change)
        # What formset.save() would record, for the admin's change message.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for profile_form in formset.forms:
            if profile_form.has_changed():
                profile = services.tutor_profile_update(user=form.instance, changes=profile_form.changes())
                formset.changed_objects.append((profile, profile_form.changed_data))


class SubjectForm(forms.ModelForm):
    class Meta:
        model = Subject
        fields = ["name"]

    def clean_name(self) -> str:
        return normalize_subject_name(self.cleaned_data["name"])  # before the uniqueness check


@admin.register(Subject)
class SubjectAdmin(admin.ModelAdmin):
    """The catalog tutors choose from; names are stored lowercase. A subject lessons were booked
    in cannot be deleted."""

    form = SubjectForm
    search_fields = ["name"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.subject_catalog_changed()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        services.subject_catalog_changed()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        services.subject_catalog_changed()


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
