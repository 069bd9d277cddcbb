from django.conf import settings
from drf_spectacular.utils import extend_schema_field

from wemaster.accounts.models import User
from wemaster.core import serializers
from wemaster.core.money import MoneyField


class TutorProfileSerializer(serializers.Serializer):
    hourly_rate = MoneyField()
    currency = serializers.CharField()
    subjects = serializers.SerializerMethodField()
    rating = serializers.DecimalField(max_digits=3, decimal_places=2, allow_null=True)

    def get_subjects(self, profile) -> list[str]:
        return [subject.name for subject in profile.subjects.all()]


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


class MeUpdateSerializer(serializers.Serializer):
    display_name = serializers.CharField(max_length=80, required=False)
    bio = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    hourly_rate = MoneyField(required=False, max_minor=settings.MAX_HOURLY_RATE_MINOR)
    subjects = serializers.ListField(child=serializers.CharField(max_length=60), required=False, max_length=20)


class TutorSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    display_name = serializers.CharField()
    hourly_rate = MoneyField(source="tutor_profile.hourly_rate")
    currency = serializers.CharField(source="tutor_profile.currency")
    subjects = serializers.SerializerMethodField()
    rating = serializers.DecimalField(source="tutor_profile.rating", max_digits=3, decimal_places=2, allow_null=True)

    def get_subjects(self, user) -> list[str]:
        return [subject.name for subject in user.tutor_profile.subjects.all()]
