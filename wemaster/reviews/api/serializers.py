from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from wemaster.core import serializers
from wemaster.reviews.models import RATING_MAX, RATING_MIN, Review
from wemaster.reviews.services import TEXT_MAX_LENGTH, edit_deadline


class ReviewCreateSerializer(serializers.Serializer):
    rating = serializers.IntegerField(min_value=RATING_MIN, max_value=RATING_MAX)
    text = serializers.CharField(max_length=TEXT_MAX_LENGTH, required=False, allow_blank=True, default="")


class ReviewEditSerializer(serializers.Serializer):
    rating = serializers.IntegerField(min_value=RATING_MIN, max_value=RATING_MAX, required=False)
    text = serializers.CharField(max_length=TEXT_MAX_LENGTH, required=False, allow_blank=True)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError({"rating": ["Send `rating`, `text` or both."]})
        return attrs


class ReviewReplySerializer(serializers.Serializer):
    text = serializers.CharField(min_length=1, max_length=TEXT_MAX_LENGTH)


class ReviewSerializer(serializers.ModelSerializer):
    """A review as its author and its tutor see it."""

    editable_until = serializers.SerializerMethodField()

    class Meta:
        model = Review
        fields = [
            "id",
            "lesson",
            "student",
            "tutor",
            "rating",
            "text",
            "reply",
            "replied_at",
            "is_hidden",
            "created_at",
            "edited_at",
            "editable_until",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_editable_until(self, review) -> str:
        return serializers.DateTimeField().to_representation(edit_deadline(review))


class PublicReviewSerializer(serializers.ModelSerializer):
    """A review in a tutor's public list: the author by display name only."""

    student_name = serializers.CharField(source="student.display_name")
    subject = serializers.CharField(source="lesson.subject.name")

    class Meta:
        model = Review
        fields = ["id", "rating", "text", "student_name", "subject", "reply", "replied_at", "created_at", "edited_at"]
        read_only_fields = fields
