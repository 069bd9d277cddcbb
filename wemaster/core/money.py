"""Money at the edges: integer minor units inside, two-decimal strings in the API."""

import re
from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

MINOR_PER_MAJOR = 100
_CENT = Decimal("0.01")
_MONEY_PATTERN = re.compile(r"-?[0-9]{1,12}(\.[0-9]{1,2})?")


def format_minor(amount: int) -> str:
    """1250 -> "12.50" (exact; no float ever touches the value)."""
    return str((Decimal(amount) / MINOR_PER_MAJOR).quantize(_CENT))


def parse_major(value) -> int:
    """ "12.50" -> 1250. Refuses more than two decimal places rather than rounding money away.

    Raises ValueError for anything that is not a finite decimal with at most two places.
    """
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError("money must be a decimal string or an integer")
    text = str(value).strip()
    if not _MONEY_PATTERN.fullmatch(text):
        raise ValueError("not a plain decimal with at most two decimal places")
    return int(Decimal(text) * MINOR_PER_MAJOR)


@extend_schema_field({"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d{1,2})?$", "example": "12.50"})
class MoneyField(serializers.Field):
    """A decimal string with two places in JSON, integer minor units in Python.

    `min_minor`/`max_minor` bound the value (in minor units) and give a field error.
    """

    default_error_messages = {
        "invalid": 'Enter an amount as a decimal string with at most two decimal places, e.g. "12.50".',
        "min_value": "Ensure this amount is at least {limit}.",
        "max_value": "Ensure this amount is at most {limit}.",
    }

    def __init__(self, *, min_minor: int | None = 0, max_minor: int | None = 10**12, **kwargs):
        self.min_minor = min_minor
        self.max_minor = max_minor
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> int:
        try:
            minor = parse_major(data)
        except ValueError:
            self.fail("invalid")
        if self.min_minor is not None and minor < self.min_minor:
            self.fail("min_value", limit=format_minor(self.min_minor))
        if self.max_minor is not None and minor > self.max_minor:
            self.fail("max_value", limit=format_minor(self.max_minor))
        return minor

    def to_representation(self, value: int) -> str:
        return format_minor(value)
