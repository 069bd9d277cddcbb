"""Money in the admin: amounts shown in currency format, never as editable integers.

`money_column("price")` is a list/detail column "12.50 USD" (sortable by the stored cents);
`ReadOnlyMoneyAdmin` is the base for records that only services may create, change or delete.
"""

from django.contrib import admin

from wemaster.core.money import format_minor


def money_column(field: str, *, description: str | None = None):
    """A display method for the minor-units `field`, with the row's `currency` when it has one."""

    @admin.display(description=description or field.replace("_", " "), ordering=field)
    def column(self, obj):
        value = getattr(obj, field)
        if value is None:
            return "-"
        currency = getattr(obj, "currency", "")
        return f"{format_minor(value)} {currency}".strip()

    column.__name__ = f"{field}_display"
    return column


class ReadOnlyMoneyAdmin(admin.ModelAdmin):
    """Staff look and act through admin actions (which call services); nothing is added,
    edited or deleted by hand, so no balance or amount can be changed from here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
