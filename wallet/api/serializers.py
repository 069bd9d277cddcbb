"""Wallet API shapes. Serializers check shape only; limits and ownership are the services'."""

from wallet.models import PaymentMethod, TopUpOrigin, TopUpStatus
from wemaster.core import serializers
from wemaster.core.money import MoneyField
from wemaster.ledger.models import TransferKind


class AutoReloadSerializer(serializers.Serializer):
    enabled = serializers.BooleanField(source="auto_reload_enabled")
    threshold = MoneyField(source="auto_reload_threshold")
    amount = MoneyField(source="auto_reload_amount")
    payment_method = serializers.IntegerField(source="auto_reload_payment_method_id", allow_null=True)
    monthly_cap = MoneyField(source="auto_reload_monthly_cap")
    consecutive_failures = serializers.IntegerField(source="auto_reload_consecutive_failures")
    disabled_reason = serializers.CharField(
        source="auto_reload_disabled_reason", help_text="Why auto-reload turned itself off; empty otherwise."
    )


class WalletSerializer(serializers.Serializer):
    balance = MoneyField(source="account.balance")
    held = MoneyField(source="account.held")
    available = MoneyField(source="account.available", help_text="balance − held")
    currency = serializers.CharField(source="account.currency")
    auto_reload = AutoReloadSerializer(source="*")


class AutoReloadInputSerializer(serializers.Serializer):
    enabled = serializers.BooleanField()
    threshold = MoneyField(min_minor=0)
    amount = MoneyField(min_minor=None, max_minor=None)  # bounded like a top-up, by the service
    payment_method = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, help_text="Card to charge; the default card when null."
    )
    monthly_cap = MoneyField(min_minor=0)


class PaymentMethodSerializer(serializers.ModelSerializer):
    class Meta:
        model = PaymentMethod
        fields = ["id", "brand", "last4", "exp_month", "exp_year", "is_default", "created_at"]
        read_only_fields = fields


class PaymentMethodCreateSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=64, help_text="Gateway card token, e.g. tok_visa (sandbox).")
    make_default = serializers.BooleanField(default=False)


class PaymentMethodUpdateSerializer(serializers.Serializer):
    is_default = serializers.BooleanField()


class TransactionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    type = serializers.ChoiceField(source="transfer.kind", choices=TransferKind.choices)
    amount = MoneyField(min_minor=None, help_text="Signed: positive credits the wallet, negative debits it.")
    balance_after = MoneyField()
    created_at = serializers.DateTimeField()
    reference = serializers.CharField(source="transfer.reference")


class TransactionFilterSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=TransferKind.choices, required=False)
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)


class TopUpCreateSerializer(serializers.Serializer):
    # The bounds (WALLET_TOP_UP_MIN_MINOR/MAX_MINOR) are the service's, so the error names them.
    amount = MoneyField(min_minor=None, max_minor=None)
    payment_method = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, help_text="Card to charge; the default card when omitted."
    )


class TopUpSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(
        choices=TopUpStatus.choices,
        help_text="pending: the provider's answer is awaited; processing: the provider did not answer and is "
        "asked again shortly; succeeded: credited; failed: nothing was charged (see failure_code).",
    )
    failure_code = serializers.CharField(
        help_text="Why it failed or waits: card_declined, canceled (the provider never charged it), "
        "amount_mismatch (held for staff); empty otherwise."
    )
    amount = MoneyField()
    currency = serializers.CharField()
    origin = serializers.ChoiceField(choices=TopUpOrigin.choices)
    payment_method = serializers.IntegerField(source="payment_method_id", allow_null=True)
    created_at = serializers.DateTimeField()


class TopUpCreatedSerializer(TopUpSerializer):
    transaction = TransactionSerializer(
        allow_null=True, help_text="The wallet's ledger entry for this top-up; null until it succeeded."
    )
