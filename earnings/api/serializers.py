from earnings.models import Earning, EarningKind, EarningStatus, PayoutMethod, Withdrawal
from wemaster.core import serializers
from wemaster.core.money import MoneyField


class NextTierSerializer(serializers.Serializer):
    rate = serializers.IntegerField(help_text="Commission percent of the next tier.")
    hours_to_go = serializers.FloatField()


class OverviewSerializer(serializers.Serializer):
    pending = serializers.CharField()
    available = serializers.CharField()
    owed = serializers.CharField(
        help_text="What the tutor owes the platform after refunds of money already withdrawn; "
        "repaid from the next earnings that clear (and from a failed payout's returned money)."
    )
    paid_out = serializers.CharField()
    lifetime_gross = serializers.CharField()
    lifetime_net = serializers.CharField()
    this_month_net = serializers.CharField()
    hours_taught = serializers.FloatField()
    commission_rate = serializers.IntegerField(help_text="Current commission percent.")
    next_tier = NextTierSerializer(allow_null=True)
    currency = serializers.CharField()


class AnalyticsQuerySerializer(serializers.Serializer):
    period = serializers.ChoiceField(choices=["day", "week", "month"], default="day")
    group_by = serializers.ChoiceField(choices=["subject", "student"], required=False)
    # `from` is a Python keyword: declared through the class namespace.
    vars()["from"] = serializers.DateField(required=False)
    to = serializers.DateField(required=False)

    def validate(self, attrs):
        if attrs.get("from") and attrs.get("to") and attrs["from"] > attrs["to"]:
            raise serializers.ValidationError({"from": ["Must not be after 'to'."]})
        return attrs


class AnalyticsRowSerializer(serializers.Serializer):
    bucket = serializers.DateField(required=False)
    subject = serializers.CharField(required=False)
    student = serializers.DictField(required=False)
    gross = serializers.CharField()
    commission = serializers.CharField()
    net = serializers.CharField()
    lessons = serializers.IntegerField()
    hours = serializers.FloatField()


class AnalyticsSerializer(serializers.Serializer):
    period = serializers.CharField()
    group_by = serializers.CharField(allow_null=True)
    currency = serializers.CharField()
    series = AnalyticsRowSerializer(many=True)
    totals = AnalyticsRowSerializer()


class EarningSerializer(serializers.ModelSerializer):
    type = serializers.CharField(source="kind")
    lesson = serializers.IntegerField(source="lesson_id")
    subject = serializers.CharField(source="subject.name")
    gross = MoneyField()
    commission = MoneyField()
    net = MoneyField()

    class Meta:
        model = Earning
        fields = [
            "id",
            "type",
            "lesson",
            "subject",
            "gross",
            "commission",
            "commission_percent",
            "net",
            "currency",
            "status",
            "earned_at",
            "available_on",
            "cleared_at",
            "refunded_at",
        ]
        read_only_fields = fields


class EarningListQuerySerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=EarningKind.choices, required=False)
    status = serializers.ChoiceField(choices=EarningStatus.choices, required=False)


class PayoutMethodCreateSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=64)
    make_default = serializers.BooleanField(default=False)


class PayoutMethodSerializer(serializers.ModelSerializer):
    class Meta:
        model = PayoutMethod
        fields = ["id", "bank_name", "last4", "is_default", "created_at"]
        read_only_fields = fields


class WithdrawalCreateSerializer(serializers.Serializer):
    # The minimum (EARNINGS_MIN_PAYOUT_MINOR) is the service's: 400 `below_minimum_payout` naming it.
    amount = MoneyField(min_minor=None)
    payout_method = serializers.IntegerField(min_value=1)


class WithdrawalSerializer(serializers.ModelSerializer):
    amount = MoneyField()
    payout_method = PayoutMethodSerializer()

    class Meta:
        model = Withdrawal
        fields = ["id", "status", "amount", "currency", "payout_method", "failure_reason", "created_at", "paid_at"]
        read_only_fields = fields
