"""Wallet admin. Nothing here moves money by hand: balances are shown from the ledger, read-only;
the one action asks the provider about stuck top-ups and settles them through the service."""

from django.contrib import admin

from wallet import services
from wallet.models import PaymentMethod, TopUp, Wallet
from wemaster.core.admin_money import ReadOnlyMoneyAdmin, money_column


class PaymentMethodInline(admin.TabularInline):
    model = PaymentMethod
    fields = ["brand", "last4", "exp_month", "exp_year", "is_default", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Wallet)
class WalletAdmin(admin.ModelAdmin):
    list_display = ["id", "student", "balance", "held", "auto_reload_enabled", "auto_reload_disabled_reason"]
    list_filter = ["auto_reload_enabled"]
    search_fields = ["student__email"]
    list_select_related = ["student", "account"]
    ordering = ["-id"]
    inlines = [PaymentMethodInline]
    # Staff may fix auto-reload settings (e.g. re-enable it); nothing that moves money is editable.
    fields = [
        "student",
        "account",
        "balance",
        "held",
        "auto_reload_enabled",
        "auto_reload_threshold",
        "auto_reload_amount",
        "auto_reload_monthly_cap",
        "auto_reload_consecutive_failures",
        "auto_reload_disabled_reason",
        "auto_reload_in_flight_since",
        "created_at",
    ]
    readonly_fields = [
        "student",
        "account",
        "balance",
        "held",
        "auto_reload_consecutive_failures",
        "auto_reload_in_flight_since",
        "created_at",
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    balance = money_column("account.balance", currency="account.currency")
    held = money_column("account.held", currency="account.currency")


@admin.register(PaymentMethod)
class PaymentMethodAdmin(admin.ModelAdmin):
    list_display = ["id", "wallet", "brand", "last4", "exp_month", "exp_year", "is_default", "created_at"]
    list_filter = ["brand", "is_default"]
    search_fields = ["wallet__student__email", "last4"]
    readonly_fields = ["wallet", "gateway_token", "brand", "last4", "exp_month", "exp_year", "is_default", "created_at"]
    list_select_related = ["wallet__student"]
    ordering = ["-id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(TopUp)
class TopUpAdmin(ReadOnlyMoneyAdmin):
    list_display = ["id", "wallet", "amount_display", "status", "origin", "failure_code", "created_at", "updated_at"]
    list_filter = ["status", "origin", "failure_code"]
    search_fields = ["wallet__student__email", "=id", "=provider_reference", "=provider_key", "trigger"]
    actions = ["ask_the_provider"]
    list_select_related = ["wallet__student"]
    date_hierarchy = "created_at"
    ordering = ["-id"]

    amount_display = money_column("amount")

    @admin.action(description="Ask the provider about the selected unresolved top-ups")
    def ask_the_provider(self, request, queryset):
        ids = list(queryset.values_list("id", flat=True))
        outcomes = [services.top_up_resolve(top_up_id=top_up_id) for top_up_id in ids]
        summary = ", ".join(f"{outcomes.count(outcome)} {outcome}" for outcome in sorted(set(outcomes)))
        self.message_user(request, f"Asked the provider: {summary or 'nothing selected'}.")
