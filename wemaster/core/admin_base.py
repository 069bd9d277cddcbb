"""The project's admin base: read-only unless a change goes through a service.

`StaffAdmin` (`ReadOnlyAdminMixin` on `admin.ModelAdmin`, the mixin keeping the name apps
already use) is what every registered ModelAdmin inherits. A page shows every field read-only
(no Save button, only "Close"), nothing is added or deleted by hand, and amounts in minor units
(`money_fields`) read "12.50 USD" on the list and the detail page alike. Staff change things
with admin actions declared with `permissions=["operate"]` (the model's change permission,
without making the form editable); an admin whose form saves through a service lists the form's
fields in `editable_fields`, grants the permissions, and calls the service in `save_model`.
"""

from django.contrib import admin, messages

from wemaster.core.errors import DomainError
from wemaster.core.money import format_minor


def _attribute(obj, path: str):
    for name in path.split("."):
        obj = getattr(obj, name, None)
    return obj


def money_display_name(field: str) -> str:
    return f"{field.replace('.', '_')}_display"


def money_column(field: str, *, description: str | None = None, currency: str = "currency"):
    """A display method for the minor-units `field` (a dotted path may reach a related row),
    followed by the currency found at `currency` when there is one (select it along)."""

    @admin.display(description=description or field.split(".")[-1].replace("_", " "), ordering=field.replace(".", "__"))
    def column(self, obj):
        value = _attribute(obj, field)
        if value is None:
            return "-"
        return f"{format_minor(value)} {_attribute(obj, currency) or ''}".strip()

    column.__name__ = money_display_name(field)
    return column


class _NoChangesByHand:
    """Nothing is added, edited or deleted by hand, so no balance or amount can be changed from
    here; an admin that saves through a service grants the permissions it needs."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class MoneyFieldsMixin:
    """`money_fields`: minor-unit fields, each a name (currency in the row's `currency`) or a
    (name, currency path) pair. Each gets a "<name>_display" column unless the class defines
    one, and the detail page shows that column in the field's place."""

    money_fields: tuple = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for field, currency in cls._money_pairs():
            name = money_display_name(field)
            if not hasattr(cls, name):
                setattr(cls, name, money_column(field, currency=currency))

    @classmethod
    def _money_pairs(cls):
        return [(item, "currency") if isinstance(item, str) else item for item in cls.money_fields]

    def _all_field_names(self, request, obj):
        """The declared `fields`, else every field of the model but an automatic primary key."""
        if self.fields:
            return list(self.fields)
        opts = self.model._meta
        return [
            field.name
            for field in [*opts.concrete_fields, *opts.many_to_many]
            if not (field.primary_key and field.auto_created)
        ]

    def _with_money_displayed(self, names):
        money = {field: money_display_name(field) for field, _ in self._money_pairs()}
        return [money.get(name, name) for name in names]


class ReadOnlyAdminMixin(MoneyFieldsMixin, _NoChangesByHand):
    """The staff admin's base, for ModelAdmins and inlines alike (see the module docstring).
    `editable_fields` lists the form fields this admin's `save_model` hands to a service;
    everything else is read-only (tests/core/test_admin.py holds the allow-list)."""

    editable_fields: tuple = ()

    def act_on_each(self, request, rows, call, *, label: str, done: str) -> int:
        """An action's loop: `call(row)` for each selected row (an id or an object), each in the
        service's own transaction; a row the service refuses is reported by `label` (e.g.
        "Lesson") with the refusal's text, and `done` (formatted with `count`) says how many
        went through. Returns that count."""
        count = 0
        for row in rows:
            try:
                call(row)
            except DomainError as exc:
                row_id = getattr(row, "pk", row)
                self.message_user(request, f"{label} {row_id}: {exc.detail}", messages.WARNING)
            else:
                count += 1
        self.message_user(request, done.format(count=count))
        return count

    def has_operate_permission(self, request) -> bool:
        """Whether staff may run this admin's actions (which call services)."""
        opts = self.model._meta
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    def get_fields(self, request, obj=None):
        return self._with_money_displayed(self._all_field_names(request, obj))

    def get_readonly_fields(self, request, obj=None):
        if self.fieldsets:
            names = admin.utils.flatten_fieldsets(self.fieldsets)
        else:
            names = self.get_fields(request, obj)
        return [name for name in self._with_money_displayed(names) if name not in self.editable_fields]


class StaffAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """What every registered ModelAdmin inherits."""


class StaffInline(ReadOnlyAdminMixin, admin.TabularInline):
    """An inline of a `StaffAdmin` page: read-only rows, money formatted."""

    extra = 0
    can_delete = False
