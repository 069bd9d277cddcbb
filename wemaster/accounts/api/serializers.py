from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field

from wemaster.accounts.models import User
from wemaster.accounts.services import TutorProfileChanges
from wemaster.accounts.validators import normalize_language_code, normalize_subject_name, validate_time_zone
from wemaster.core import serializers
from wemaster.core.cache.keys import printable
from wemaster.core.money import MoneyField
from wemaster.scheduling.api.serializers import LessonDurationField, SlotTimeField, check_slot_range

# A `free_from` this close to now still counts as now (clocks and requests in flight).
FREE_FROM_LEEWAY = timedelta(minutes=1)


@extend_schema_field({"type": "string", "format": "decimal", "nullable": True, "example": "4.80"})
class RatingField(serializers.Field):
    """The mean review score ("4.80"), null while the tutor has no review."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, profile) -> str | None:
        return f"{profile.rating:.2f}" if profile.review_count else None


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class RelatedValuesField(serializers.Field):
    """One attribute of each row of a prefetched relation, in its order: subject names (by name),
    language codes (in the tutor's order)."""

    def __init__(self, *, attribute: str, **kwargs):
        self.attribute = attribute
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, related) -> list[str]:
        return [getattr(row, self.attribute) for row in related.all()]


def subject_names_field() -> RelatedValuesField:
    return RelatedValuesField(attribute="name", help_text='Subject names, e.g. ["algebra"].')


def language_codes_field() -> RelatedValuesField:
    return RelatedValuesField(attribute="code", help_text='ISO 639-1 codes, e.g. ["en", "de"].')


class TutorProfileSerializer(serializers.Serializer):
    """The tutor's own profile, as `GET /me` shows it and `PATCH /me` takes it (`tutor_profile`)."""

    hourly_rate = MoneyField()
    currency = serializers.CharField()
    subjects = subject_names_field()
    headline = serializers.CharField()
    timezone = serializers.CharField()
    languages = language_codes_field()
    rating = RatingField()
    review_count = serializers.IntegerField()
    bookable = serializers.BooleanField(
        source="is_bookable", help_text="Listed in the directory and bookable: needs a rate and a subject."
    )


class MeSerializer(serializers.ModelSerializer):
    tutor_profile = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "email", "role", "display_name", "bio", "is_staff", "date_joined", "tutor_profile"]
        read_only_fields = fields

    @extend_schema_field(TutorProfileSerializer(allow_null=True))
    def get_tutor_profile(self, user):
        profile = getattr(user, "tutor_profile", None) if user.is_tutor else None
        return TutorProfileSerializer(profile).data if profile is not None else None


class TutorProfileUpdateSerializer(serializers.Serializer):
    """Every field optional; an omitted field keeps its value. An empty `subjects` or `languages`
    list clears it (an empty `subjects` takes the tutor out of the directory)."""

    hourly_rate = MoneyField(
        required=False,
        min_minor=settings.MIN_HOURLY_RATE_MINOR,
        max_minor=settings.MAX_HOURLY_RATE_MINOR,
        help_text='Per hour, e.g. "40.00", in the platform currency.',
    )
    subjects = serializers.ListField(
        child=serializers.CharField(max_length=60),
        required=False,
        max_length=settings.TUTOR_MAX_SUBJECTS,
        help_text="Subject names from GET /api/v1/subjects; an unknown name is a 400 naming it.",
    )
    headline = serializers.CharField(max_length=120, required=False, allow_blank=True)
    timezone = serializers.CharField(
        max_length=64, required=False, validators=[validate_time_zone], help_text="IANA name, e.g. Europe/Berlin."
    )
    languages = serializers.ListField(
        child=serializers.CharField(max_length=8),
        required=False,
        max_length=settings.TUTOR_MAX_LANGUAGES,
        help_text='ISO 639-1 codes the tutor teaches in, e.g. ["en", "de"].',
    )

    def validate_languages(self, value: list[str]) -> list[str]:
        codes, errors = [], {}
        for index, raw in enumerate(value):
            try:
                codes.append(normalize_language_code(raw))
            except DjangoValidationError as exc:
                errors[index] = exc.messages
        if errors:
            raise serializers.ValidationError(errors)
        return codes


class MeUpdateSerializer(serializers.Serializer):
    """`display_name`, `bio`; tutors also `tutor_profile` (the one shape for profile fields:
    the same object `GET /me` returns)."""

    # Where the tutor fields used to be accepted: answered with where they go now, never ignored.
    MOVED_TO_TUTOR_PROFILE = ("hourly_rate", "subjects", "headline", "timezone", "languages")

    display_name = serializers.CharField(max_length=80, required=False)
    bio = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    tutor_profile = TutorProfileUpdateSerializer(required=False)

    def to_internal_value(self, data):
        """Profile fields sent at the top level are unknown here, as any other field, with a hint
        where they go: one shape, never silently ignored."""
        unknown = serializers.unknown_fields(self, data)
        if unknown:
            raise serializers.ValidationError(
                {name: [self._unknown_field_message(name)] for name in unknown}, code=serializers.UNKNOWN_FIELD
            )
        return super().to_internal_value(data)

    def _unknown_field_message(self, name: str) -> str:
        if name in self.MOVED_TO_TUTOR_PROFILE:
            return f'Unknown field; tutors send it inside "tutor_profile": {{"{name}": ...}}.'
        return serializers.UNKNOWN_FIELD_MESSAGE

    def to_arguments(self) -> dict:
        values = dict(self.validated_data)
        if "tutor_profile" in values:
            values["tutor_profile"] = TutorProfileChanges(**values["tutor_profile"])
        return values


class TutorSerializer(serializers.Serializer):
    """A directory row."""

    id = serializers.IntegerField(source="user_id")
    display_name = serializers.CharField(source="user.display_name")
    headline = serializers.CharField()
    hourly_rate = MoneyField()
    currency = serializers.CharField()
    subjects = subject_names_field()
    rating = RatingField()
    review_count = serializers.IntegerField()


class TutorDetailSerializer(TutorSerializer):
    """One tutor's public profile: the directory row plus bio, time zone and teaching languages."""

    bio = serializers.CharField(source="user.bio")
    timezone = serializers.CharField()
    languages = language_codes_field()


class SubjectSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    tutor_count = serializers.IntegerField(help_text="Bookable tutors who teach it.")


class DirectoryQuerySerializer(serializers.Serializer):
    """The directory's filters; each bad value is a 400 naming its parameter."""

    ORDERINGS = ("newest", "price", "-price", "rating")

    subject = serializers.CharField(
        max_length=60, required=False, validators=[printable], help_text="A subject name from /subjects."
    )
    language = serializers.CharField(max_length=8, required=False, help_text="ISO 639-1 code, e.g. de.")
    min_rate = MoneyField(required=False, max_minor=settings.MAX_HOURLY_RATE_MINOR, help_text="Inclusive, e.g. 20.00.")
    max_rate = MoneyField(required=False, max_minor=settings.MAX_HOURLY_RATE_MINOR, help_text="Inclusive, e.g. 60.00.")
    ordering = serializers.ChoiceField(
        choices=ORDERINGS,
        default="newest",
        help_text="`newest` (default), `price` (cheapest first), `-price`, `rating` (best rated first).",
    )

    free_from = SlotTimeField(
        required=False,
        help_text="With `free_to`: only tutors with a bookable slot in [free_from, free_to). A time with "
        "offset, not more than a minute in the past.",
    )
    free_to = SlotTimeField(
        required=False, help_text="With `free_from`: after it, at most DIRECTORY_FREE_TIME_MAX_RANGE_DAYS (7) later."
    )
    duration = LessonDurationField(
        help_text="Lesson minutes the free slot must hold, as booking accepts them; default 60. "
        "Only with `free_from` and `free_to`."
    )

    def validate_subject(self, value: str) -> str:
        return normalize_subject_name(value)

    def validate_language(self, value: str) -> str:
        try:
            return normalize_language_code(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc

    def validate(self, attrs):
        low, high = attrs.get("min_rate"), attrs.get("max_rate")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError({"max_rate": ["Must not be below min_rate."]})
        start, end = attrs.get("free_from"), attrs.get("free_to")
        if start is None and end is None:
            if "duration" in self.initial_data:
                raise serializers.ValidationError({"duration": ["Only with `free_from` and `free_to`."]})
            return attrs
        if start is None or end is None:
            missing = "free_from" if start is None else "free_to"
            raise serializers.ValidationError({missing: ["`free_from` and `free_to` go together."]})
        if start < timezone.now() - FREE_FROM_LEEWAY:
            raise serializers.ValidationError({"free_from": ["Must not be in the past."]})
        check_slot_range(
            start, end, max_days=settings.DIRECTORY_FREE_TIME_MAX_RANGE_DAYS, names=("free_from", "free_to")
        )
        return attrs
