"""What the payment gateway was asked to do, for staff investigating a charge or payout."""

from django.contrib import admin

from wemaster.core.admin_money import ReadOnlyMoneyAdmin, money_column
from wemaster.core.models import GatewayCall


@admin.register(GatewayCall)
class GatewayCallAdmin(ReadOnlyMoneyAdmin):
    list_display = [
        "id",
        "operation",
        "idempotency_key",
        "amount_display",
        "succeeded",
        "failure_code",
        "attempts",
        "provider_reference",
        "created_at",
    ]
    list_filter = ["operation", "succeeded", "failure_code"]
    search_fields = ["=idempotency_key", "=provider_reference", "source"]
    date_hierarchy = "created_at"
    ordering = ["-id"]
    amount_display = money_column("amount")
