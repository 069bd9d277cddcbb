from django.contrib import admin, messages

from earnings import services
from earnings.models import Earning, PayoutMethod, Withdrawal
from wemaster.core.errors import DomainError


@admin.register(Earning)
class EarningAdmin(admin.ModelAdmin):
    list_display = ["id", "tutor", "kind", "lesson_id", "gross", "commission", "net", "status", "available_on"]
    list_filter = ["status", "kind"]
    search_fields = ["tutor__email", "=lesson_id"]
    list_select_related = ["tutor"]
    raw_id_fields = ["tutor", "student"]

    def has_change_permission(self, request, obj=None):
        return False  # money records change only through services

    def has_add_permission(self, request):
        return False


@admin.register(PayoutMethod)
class PayoutMethodAdmin(admin.ModelAdmin):
    list_display = ["id", "tutor", "bank_name", "last4", "is_default", "created_at"]
    search_fields = ["tutor__email"]
    list_select_related = ["tutor"]
    raw_id_fields = ["tutor"]
    readonly_fields = ["token"]


@admin.register(Withdrawal)
class WithdrawalAdmin(admin.ModelAdmin):
    list_display = ["id", "tutor", "amount", "status", "round", "attempts", "failure_reason", "created_at", "paid_at"]
    list_filter = ["status"]
    search_fields = ["tutor__email"]
    list_select_related = ["tutor"]
    actions = ["retry_payouts"]
    readonly_fields = [field.name for field in Withdrawal._meta.fields]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Retry failed (or stuck) payouts")
    def retry_payouts(self, request, queryset):
        retried = 0
        for withdrawal_id in queryset.values_list("id", flat=True):
            try:
                services.withdrawal_retry(withdrawal_id=withdrawal_id)
            except DomainError as exc:
                self.message_user(request, f"Withdrawal {withdrawal_id}: {exc.detail}", messages.WARNING)
            else:
                retried += 1
        self.message_user(request, f"{retried} payout(s) queued again.")
