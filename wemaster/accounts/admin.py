from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.core.exceptions import ValidationError

from wemaster.accounts import services, sessions
from wemaster.accounts.models import DeviceToken, Subject, TutorProfile, User
from wemaster.accounts.validators import normalize_language_code, normalize_subject_name, time_zone_names
from wemaster.core.admin_base import StaffAdmin
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
    """Saved by `tutor_profile_update`, the service PATCH /me uses (UserAdmin.save_formset)."""

    model = TutorProfile
    form = TutorProfileForm
    can_delete = False
    max_num = 1
    filter_horizontal = ["subjects"]
    readonly_fields = ["rating", "review_count"]


class StaffPasswordChangeForm(AdminPasswordChangeForm):
    """The admin's "Set password" page, through the service: the user is signed out everywhere."""

    def save(self, commit=True):
        password = self.cleaned_data["password1"] if self.cleaned_data["set_usable_password"] else None
        return services.staff_password_set(user_id=self.user.pk, password=password)


@admin.register(User)
class UserAdmin(StaffAdmin, DjangoUserAdmin):
    """Users are added, edited and deactivated through the account services (`user_create`, the
    same as registration; `staff_user_save`; `staff_user_deactivate`); never deleted (their
    money records stay)."""

    change_password_form = StaffPasswordChangeForm
    editable_fields = (
        "email",
        "password",  # Django's disabled hash summary with the "Reset password" link, never the hash
        "display_name",
        "role",
        "bio",
        "is_active",
        "is_staff",
        "is_superuser",
        "groups",
        "user_permissions",
    )
    actions = ["deactivate"]
    ordering = ["-id"]
    list_display = ["id", "email", "display_name", "role", "is_staff", "is_active", "date_joined"]
    list_filter = ["role", "is_staff", "is_active"]
    search_fields = ["email", "display_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["display_name", "role", "bio"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "display_name", "role", "password1", "password2"]})
    ]

    def has_add_permission(self, request):
        return request.user.has_perm("accounts.add_user")

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("accounts.change_user")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []  # the add form: user_create takes each of its fields
        return super().get_readonly_fields(request, obj)

    def get_inlines(self, request, obj):
        return [TutorProfileInline] if obj is not None and obj.is_tutor else []

    def save_model(self, request, obj, form, change):
        if change:
            services.staff_user_save(user=obj, changed=form.changed_data)
            return
        data = form.cleaned_data
        created = services.user_create(
            email=data["email"], password=data["password1"], role=data["role"], display_name=data["display_name"]
        )
        obj.pk = created.pk
        obj.refresh_from_db()

    @admin.action(description="Deactivate: sign out everywhere, keep their money records", permissions=["operate"])
    def deactivate(self, request, queryset):
        done = sum(services.staff_user_deactivate(user_id=user_id) for user_id in queryset.values_list("id", flat=True))
        self.message_user(request, f"{done} user(s) deactivated.")

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
class SubjectAdmin(StaffAdmin):
    """The catalog tutors choose from; names are stored lowercase. A subject lessons were booked
    in cannot be deleted. Saved and deleted through the services (the catalog's cached pages)."""

    form = SubjectForm
    search_fields = ["name"]
    editable_fields = ("name",)

    def has_add_permission(self, request):
        return request.user.has_perm("accounts.add_subject")

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("accounts.change_subject")

    def has_delete_permission(self, request, obj=None):
        return request.user.has_perm("accounts.delete_subject")

    def save_model(self, request, obj, form, change):
        services.subject_save(subject=obj)

    def delete_model(self, request, obj):
        services.subjects_delete(subject_ids=[obj.pk])

    def delete_queryset(self, request, queryset):
        services.subjects_delete(subject_ids=list(queryset.values_list("pk", flat=True)))


@admin.register(DeviceToken)
class DeviceTokenAdmin(StaffAdmin):
    """Who is signed in on which device. Only the token's first characters are shown (the
    token itself is nowhere to be seen); revoking goes through the service, so the device's
    sockets close too."""

    list_display = ["id", "user", "name", "token_key", "created", "last_used", "expiry"]
    list_select_related = ["user"]
    search_fields = ["user__email", "name", "token_key"]
    fields = ["user", "name", "token_key", "created", "last_used", "expiry"]
    ordering = ["-id"]
    actions = ["revoke"]

    @admin.action(description="Revoke the selected tokens (their devices are signed out)", permissions=["operate"])
    def revoke(self, request, queryset):
        tokens = list(queryset.values_list("id", "user_id"))
        for token_id, user_id in tokens:
            sessions.token_revoke(user=User(pk=user_id), token_id=token_id)
        self.message_user(request, f"{len(tokens)} token(s) revoked.")
