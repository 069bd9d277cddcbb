"""Ledger in the admin: everything read-only. Money moves only through the services."""

from django.contrib import admin

from wemaster.core.admin_base import StaffAdmin, StaffInline
from wemaster.ledger.models import Account, Entry, Hold, Transfer

ACCOUNT_CURRENCY = "account.currency"


class EntryInline(StaffInline):
    model = Entry
    fields = ["id", "account", "amount", "balance_after", "created_at"]
    money_fields = (("amount", ACCOUNT_CURRENCY), ("balance_after", ACCOUNT_CURRENCY))
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("account__owner")


@admin.register(Account)
class AccountAdmin(StaffAdmin):
    list_display = ["id", "kind", "owner", "balance_display", "held_display", "created_at"]
    list_filter = ["kind", "currency"]
    search_fields = ["owner__email", "=id"]
    list_select_related = ["owner"]
    ordering = ["-id"]
    money_fields = ("balance", "held")


@admin.register(Transfer)
class TransferAdmin(StaffAdmin):
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
class EntryAdmin(StaffAdmin):
    list_display = ["id", "transfer", "account", "amount_display", "balance_after_display", "created_at"]
    list_filter = ["transfer__kind", "account__kind"]
    search_fields = ["transfer__reference", "account__owner__email"]
    list_select_related = ["transfer", "account__owner"]
    ordering = ["-id"]
    money_fields = (("amount", ACCOUNT_CURRENCY), ("balance_after", ACCOUNT_CURRENCY))


@admin.register(Hold)
class HoldAdmin(StaffAdmin):
    list_display = ["id", "reference", "account", "amount_display", "status", "created_at", "resolved_at"]
    list_filter = ["status"]
    search_fields = ["reference", "account__owner__email"]
    list_select_related = ["account__owner"]
    ordering = ["-id"]
    money_fields = (("amount", ACCOUNT_CURRENCY),)
