"""Ledger in the admin: everything read-only. Money moves only through the services."""

from django.contrib import admin

from wemaster.core.admin_money import ReadOnlyAdminMixin, ReadOnlyMoneyAdmin, money_column
from wemaster.ledger.models import Account, Entry, Hold, Transfer


class EntryInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Entry
    fields = ["id", "account", "amount_display", "balance_after_display", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    amount_display = money_column("amount", currency="account.currency")
    balance_after_display = money_column("balance_after", currency="account.currency")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("account")


@admin.register(Account)
class AccountAdmin(ReadOnlyMoneyAdmin):
    list_display = ["id", "kind", "owner", "balance_display", "held_display", "created_at"]
    list_filter = ["kind", "currency"]
    search_fields = ["owner__email", "=id"]
    list_select_related = ["owner"]
    ordering = ["-id"]

    balance_display = money_column("balance")
    held_display = money_column("held")


@admin.register(Transfer)
class TransferAdmin(ReadOnlyMoneyAdmin):
    list_display = ["id", "kind", "reference", "currency", "description", "created_at"]
    list_filter = ["kind", "currency"]
    search_fields = ["reference", "entries__account__owner__email"]
    date_hierarchy = "created_at"
    ordering = ["-id"]
    inlines = [EntryInline]

    def get_search_results(self, request, queryset, search_term):
        queryset, _ = super().get_search_results(request, queryset, search_term)
        return queryset.distinct(), False


@admin.register(Entry)
class EntryAdmin(ReadOnlyMoneyAdmin):
    list_display = ["id", "transfer", "account", "amount_display", "balance_after_display", "created_at"]
    list_filter = ["transfer__kind", "account__kind"]
    search_fields = ["transfer__reference", "account__owner__email"]
    list_select_related = ["transfer", "account"]
    ordering = ["-id"]
    amount_display = money_column("amount", currency="account.currency")
    balance_after_display = money_column("balance_after", currency="account.currency")


@admin.register(Hold)
class HoldAdmin(ReadOnlyMoneyAdmin):
    list_display = ["id", "reference", "account", "amount_display", "status", "created_at", "resolved_at"]
    list_filter = ["status"]
    search_fields = ["reference", "account__owner__email"]
    list_select_related = ["account"]
    ordering = ["-id"]
    amount_display = money_column("amount", currency="account.currency")
