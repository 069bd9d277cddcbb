"""Wallet admin. Nothing here moves money by hand: balances are shown from the ledger, read-only;
the actions ask the provider about stuck top-ups and re-enable auto-reload through the services."""

from django.contrib import admin

from wallet import services
from wallet.models import PaymentMethod, TopUp, Wallet
from wemaster.core.admin_base import StaffAdmin, StaffInline, money_column

ACCOUNT_CURRENCY = "account.currency"


class PaymentMethodInline(StaffInline):
    model = PaymentMethod
    fields = ["brand", "last4", "exp_month", "exp_year", "is_default", "created_at"]


@admin.register(Wallet)
class WalletAdmin(StaffAdmin):
    list_display = [
        "id",
        "student",
        "balance",
        "held",
        "auto_reload_enabled",
        "auto_reload_disabled_reason",
    ]
    list_filter = ["auto_reload_enabled"]
    search_fields = ["student__email"]
    list_select_related = ["student", "account"]
    ordering = ["-id"]
    inlines = [PaymentMethodInline]
    fields = [
        "student",
        "account",
        "balance",
        "held",
        "auto_reload_enabled",
        "auto_reload_threshold",
        "auto_reload_amount",
        "auto_reload_monthly_cap",
        "auto_reload_payment_method",
        "auto_reload_consecutive_failures",
        "auto_reload_disabled_reason",
        "auto_reload_in_flight_since",
        "created_at",
    ]
    money_fields = (
        ("auto_reload_threshold", ACCOUNT_CURRENCY),
        ("auto_reload_amount", ACCOUNT_CURRENCY),
        ("auto_reload_monthly_cap", ACCOUNT_CURRENCY),
    )
    actions = ["auto_reload_enable"]
    # The ledger account's figures, named as the wallet's own.
    balance = money_column("account.balance", currency=ACCOUNT_CURRENCY)
    held = money_column("account.held", currency=ACCOUNT_CURRENCY)

    @admin.action(
        description="Re-enable auto-reload with the wallet's settings (clears an automatic disable)",
        permissions=["operate"],
    )
    def auto_reload_enable(self, request, queryset):
        def enable(wallet):
            services.auto_reload_configure(
                wallet=wallet,
                enabled=True,
                threshold=wallet.auto_reload_threshold,
                amount=wallet.auto_reload_amount,
                monthly_cap=wallet.auto_reload_monthly_cap,
                payment_method_id=wallet.auto_reload_payment_method_id,
            )

        self.act_on_each(
            request,
            queryset.select_related("account"),
            enable,
            label="Wallet",
            done="Auto-reload enabled on {count} wallet(s).",
        )


@admin.register(PaymentMethod)
class PaymentMethodAdmin(StaffAdmin):
    list_display = ["id", "wallet", "brand", "last4", "exp_month", "exp_year", "is_default", "created_at"]
    list_filter = ["brand", "is_default"]
    search_fields = ["wallet__student__email", "last4"]
    fields = ["wallet", "brand", "last4", "exp_month", "exp_year", "is_default", "created_at"]
    list_select_related = ["wallet__student"]
    ordering = ["-id"]


@admin.register(TopUp)
class TopUpAdmin(StaffAdmin):
    list_display = ["id", "wallet", "amount_display", "status", "origin", "failure_code", "created_at", "updated_at"]
    list_filter = ["status", "origin", "failure_code"]
    search_fields = ["wallet__student__email", "=id", "=provider_reference", "=provider_key", "trigger"]
    actions = ["ask_the_provider"]
    list_select_related = ["wallet__student"]
    date_hierarchy = "created_at"
    ordering = ["-id"]
    money_fields = ("amount",)

    @admin.action(description="Ask the provider about the selected unresolved top-ups", permissions=["operate"])
    def ask_the_provider(self, request, queryset):
        ids = list(queryset.values_list("id", flat=True))
        outcomes = [services.top_up_resolve(top_up_id=top_up_id) for top_up_id in ids]
        summary = ", ".join(f"{outcomes.count(outcome)} {outcome}" for outcome in sorted(set(outcomes)))
        self.message_user(request, f"Asked the provider: {summary or 'nothing selected'}.")
