"""Ledger in the admin: everything read-only. Money moves only through the services."""

from django.contrib import admin

from wemaster.core.money import format_minor
from wemaster.ledger.models import Account, Entry, Hold, Transfer


class ReadOnlyAdmin(admin.ModelAdmin):
    """Staff may look, never edit: balances and entries change only through ledger services."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class EntryInline(admin.TabularInline):
    model = Entry
    fields = ["id", "account", "amount", "balance_after", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "owner", "currency", "balance_display", "held_display", "created_at"]
    list_filter = ["kind", "currency"]
    search_fields = ["owner__email", "=id"]
    list_select_related = ["owner"]
    ordering = ["-id"]

    @admin.display(description="balance", ordering="balance")
    def balance_display(self, account):
        return format_minor(account.balance)

    @admin.display(description="held", ordering="held")
    def held_display(self, account):
        return format_minor(account.held)


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
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
class EntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "transfer", "account", "amount", "balance_after", "created_at"]
    list_filter = ["transfer__kind", "account__kind"]
    search_fields = ["transfer__reference", "account__owner__email"]
    list_select_related = ["transfer", "account"]
    ordering = ["-id"]


@admin.register(Hold)
class HoldAdmin(ReadOnlyAdmin):
    list_display = ["id", "reference", "account", "amount", "status", "created_at", "resolved_at"]
    list_filter = ["status"]
    search_fields = ["reference", "account__owner__email"]
    list_select_related = ["account"]
    ordering = ["-id"]
