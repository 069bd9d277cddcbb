from django.contrib import admin

from earnings import services
from earnings.models import Earning, PayoutMethod, Withdrawal
from wemaster.core.admin_base import StaffAdmin


@admin.register(Earning)
class EarningAdmin(StaffAdmin):
    list_display = [
        "id",
        "tutor",
        "kind",
        "lesson_id",
        "gross_display",
        "commission_display",
        "commission_percent",
        "net_display",
        "status",
        "available_on",
    ]
    list_filter = ["status", "kind", "currency"]
    search_fields = ["tutor__email", "=lesson_id"]
    list_select_related = ["tutor"]
    date_hierarchy = "earned_at"
    ordering = ["-id"]
    money_fields = ("gross", "commission", "net")


@admin.register(PayoutMethod)
class PayoutMethodAdmin(StaffAdmin):
    """Tokens come from the payout provider through the API; tutors manage their own. A removed
    method stays (withdrawals made to it keep it) with its `removed_at`."""

    list_display = ["id", "tutor", "bank_name", "last4", "is_default", "created_at", "removed_at"]
    list_filter = ["is_default", ("removed_at", admin.EmptyFieldListFilter)]
    search_fields = ["tutor__email", "=last4"]
    list_select_related = ["tutor"]
    ordering = ["-id"]


@admin.register(Withdrawal)
class WithdrawalAdmin(StaffAdmin):
    list_display = [
        "id",
        "tutor",
        "amount_display",
        "status",
        "round",
        "attempts",
        "failure_reason",
        "created_at",
        "paid_at",
    ]
    list_filter = ["status", "currency"]
    search_fields = ["=id", "tutor__email", "=provider_reference"]
    list_select_related = ["tutor"]
    date_hierarchy = "created_at"
    ordering = ["-id"]
    actions = ["retry_payouts"]
    money_fields = ("amount",)

    @admin.action(description="Retry failed (or stuck) payouts", permissions=["operate"])
    def retry_payouts(self, request, queryset):
        self.act_on_each(
            request,
            queryset.values_list("id", flat=True),
            lambda withdrawal_id: services.withdrawal_retry(withdrawal_id=withdrawal_id),
            label="Withdrawal",
            done="{count} payout(s) queued again.",
        )
