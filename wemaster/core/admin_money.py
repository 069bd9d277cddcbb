"""Money in the admin, kept importable under its first name: see wemaster.core.admin_base."""

from wemaster.core.admin_base import ReadOnlyAdminMixin, StaffAdmin, StaffInline, money_column

ReadOnlyMoneyAdmin = StaffAdmin

__all__ = ["ReadOnlyAdminMixin", "ReadOnlyMoneyAdmin", "StaffAdmin", "StaffInline", "money_column"]
