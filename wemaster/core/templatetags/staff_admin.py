"""Template filters of the staff admin's own pages."""

from django import template

from wemaster.core.money import format_minor

register = template.Library()


@register.filter
def money(minor: int, currency: str = "") -> str:
    """1250|money:"USD" -> "12.50 USD"."""
    return f"{format_minor(minor)} {currency}".strip()
