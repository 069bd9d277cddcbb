from wemaster.core import serializers
from wemaster.core.money import MoneyField
from wemaster.lessons.models import DisputeOutcome, Lesson, LessonStatus, RefundRequest, RefundStatus


class PartySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    display_name = serializers.CharField()


class LessonBookSerializer(serializers.Serializer):
    tutor = serializers.IntegerField(min_value=1)
    subject = serializers.CharField(max_length=60)
    starts_at = serializers.DateTimeField()
    duration_minutes = serializers.IntegerField(min_value=1, max_value=24 * 60)


class LessonSerializer(serializers.ModelSerializer):
    student = PartySerializer()
    tutor = PartySerializer()
    subject = serializers.CharField(source="subject.name")
    price = MoneyField()
    commission = MoneyField()
    cancellation_fee = MoneyField()

    class Meta:
        model = Lesson
        fields = [
            "id",
            "status",
            "student",
            "tutor",
            "subject",
            "starts_at",
            "ends_at",
            "duration_minutes",
            "price",
            "commission",
            "cancellation_fee",
            "currency",
            "created_at",
            "completed_at",
            "cancelled_at",
            "problem_reason",
            "reported_at",
            "resolution",
            "resolved_at",
        ]
        read_only_fields = fields


class LessonListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=LessonStatus.choices, required=False)


class LessonReportProblemSerializer(serializers.Serializer):
    reason = serializers.CharField(min_length=1, max_length=2000)


class LessonResolveSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=DisputeOutcome.choices)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class RefundRequestCreateSerializer(serializers.Serializer):
    lesson = serializers.IntegerField(min_value=1)
    reason = serializers.CharField(max_length=2000)


class RefundRequestSerializer(serializers.ModelSerializer):
    amount = MoneyField()

    class Meta:
        model = RefundRequest
        fields = ["id", "lesson", "status", "amount", "currency", "reason", "created_at", "decided_at"]
        read_only_fields = fields


class RefundRequestListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=RefundStatus.choices, required=False)
