"""Money in the admin: amounts shown in currency format, never as editable integers.

`money_column("price")` is a list/detail column "12.50 USD" (sortable by the stored cents);
`ReadOnlyMoneyAdmin` is the base for records that only services may create, change or delete.
"""

from django.contrib import admin

from wemaster.core.money import format_minor


def _attribute(obj, path: str):
    for name in path.split("."):
        obj = getattr(obj, name, None)
    return obj


def money_column(field: str, *, description: str | None = None, currency: str = "currency"):
    """A display method for the minor-units `field` (a dotted path may reach a related row),
    followed by the currency found at `currency` when there is one (select it along)."""

    @admin.display(description=description or field.split(".")[-1].replace("_", " "), ordering=field.replace(".", "__"))
    def column(self, obj):
        value = _attribute(obj, field)
        if value is None:
            return "-"
        return f"{format_minor(value)} {_attribute(obj, currency) or ''}".strip()

    column.__name__ = f"{field.replace('.', '_')}_display"
    return column


class ReadOnlyAdminMixin:
    """Staff look and act through admin actions (which call services); nothing is added,
    edited or deleted by hand, so no balance or amount can be changed from here.
    For ModelAdmins and inlines alike."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyMoneyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    pass
